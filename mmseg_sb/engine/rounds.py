# Copyright (c) mmseg_sb contributors. All rights reserved.
"""Round arithmetic of a self-training run, used by the hook that switches
rounds and by the schedulers that restart in every round."""
import bisect
from typing import List, Optional, Sequence


def round_starts(round_iters: Sequence[int]) -> List[int]:
    """The first iteration (0-based) of every round."""
    starts = [0]
    for n in round_iters[:-1]:
        starts.append(starts[-1] + n)
    return starts


def round_of(step: int, round_iters: Sequence[int]) -> int:
    """The round that iteration ``step`` (0-based) belongs to; an empty
    round (0 iterations, e.g. a skipped teacher round) is never returned
    while a later round starts at the same iteration."""
    return bisect.bisect_right(round_starts(round_iters), step) - 1


def check_rounds(round_iters: Sequence[int],
                 teacher_checkpoint: Optional[str] = None) -> List[int]:
    """``round_iters`` as a list, or a ``ValueError`` naming what is wrong:
    round 0 (the teacher) and at least one student round, each student round
    with iterations, round 0 empty exactly when a teacher checkpoint is
    given."""
    round_iters = list(round_iters)
    if len(round_iters) < 2 or any(not isinstance(n, int) or n < 0
                                   for n in round_iters):
        raise ValueError(
            f'PseudoLabelHook round_iters={round_iters} must list the '
            'iterations of round 0 (the teacher) and of at least one '
            'student round, as non-negative ints.')
    if any(n == 0 for n in round_iters[1:]):
        raise ValueError(f'PseudoLabelHook round_iters={round_iters}: '
                         'every student round needs iterations.')
    if teacher_checkpoint is None and round_iters[0] == 0:
        raise ValueError(
            'PseudoLabelHook round_iters[0]=0 skips the teacher round, '
            'so a teacher_checkpoint is needed.')
    if teacher_checkpoint is not None and round_iters[0] != 0:
        raise ValueError(
            f'PseudoLabelHook got teacher_checkpoint={teacher_checkpoint}'
            f' and round_iters[0]={round_iters[0]}; with a teacher, set '
            "round_iters[0]=0 (and max_iters to the students' total).")
    return round_iters


def check_resumed_rounds(finished: Optional[Sequence[int]],
                         round_iters: Sequence[int], r: int) -> None:
    """A ``ValueError`` if a run resumed in round ``r`` changes a round it
    has finished: ``finished`` is the checkpoint's ``round_iters`` (None for
    a run that is not resumed or has no hook state)."""
    if finished is not None and \
            list(finished[:r]) != list(round_iters[:r]):
        raise ValueError(
            f'PseudoLabelHook: the checkpoint finished rounds '
            f'{list(finished[:r])}, the config says {list(round_iters[:r])};'
            ' a resumed run may change or add rounds only from the current '
            'one on.')
