# Copyright (c) mmseg_sb contributors. All rights reserved.
"""The rounds of a self-training run: their lengths, checked once, and the
arithmetic that the hook, the loop and the schedulers share.

The rounds are given once, as ``PseudoLabelHook(round_iters=...)`` (in
``default_hooks.pseudo_label``); :class:`SelfTrainingLoop` derives the run's
length, intervals and schedules from them, and the hook publishes the
current round on the runner's message hub under :data:`ROUND_INFO`.
"""
import bisect
import math
from typing import List, Optional, Sequence

#: Message-hub runtime-info key of the current round (an int).
ROUND_INFO = 'round'
#: Where a config gives the rounds, for error messages.
ROUNDS_KEY = 'default_hooks.pseudo_label.round_iters'


class Rounds:
    """The lengths of the rounds of one run.

    Args:
        round_iters (Sequence[int]): Iterations of each round, non-negative
            integers with a positive sum; a round of 0 iterations (e.g. a
            skipped teacher round) is never entered.
    """

    def __init__(self, round_iters: Sequence[int]) -> None:
        iters = list(round_iters)
        if not iters or any(
                isinstance(n, bool) or not isinstance(n, (int, float))
                or int(n) != n or n < 0 for n in iters) or sum(iters) == 0:
            raise ValueError(
                f'round_iters={iters} must list the iterations of every '
                'round as non-negative integers with a positive sum.')
        self.iters: List[int] = [int(n) for n in iters]
        self.starts: List[int] = [0]
        for n in self.iters[:-1]:
            self.starts.append(self.starts[-1] + n)
        self.total: int = sum(self.iters)

    def __len__(self) -> int:
        return len(self.iters)

    def __repr__(self) -> str:
        return f'{type(self).__name__}({self.iters})'

    def of(self, step: int) -> int:
        """The round that iteration ``step`` (0-based) belongs to; an empty
        round is never returned while a later round starts at the same
        iteration."""
        return bisect.bisect_right(self.starts, step) - 1

    def end(self, r: int) -> int:
        """The number of iterations done at the end of round ``r``."""
        return self.starts[r] + self.iters[r]

    def interval(self, interval: Optional[int] = None) -> int:
        """The largest interval that divides ``interval`` (if positive) and
        lands on every round end: the interval at which validation and
        checkpoints fall on all round ends."""
        common = math.gcd(*self.iters)
        if interval is None or interval <= 0:
            return common
        return math.gcd(common, int(interval))


def check_rounds(round_iters: Sequence[int],
                 teacher_checkpoint: Optional[str] = None) -> Rounds:
    """The rounds of a self-training run, or a ``ValueError`` naming what is
    wrong: round 0 (the teacher) and at least one student round, each
    student round with iterations, round 0 empty exactly when a teacher
    checkpoint is given."""
    if len(list(round_iters)) < 2:
        raise ValueError(
            f'PseudoLabelHook round_iters={list(round_iters)} must list the '
            'iterations of round 0 (the teacher) and of at least one '
            'student round.')
    rounds = Rounds(round_iters)
    if any(n == 0 for n in rounds.iters[1:]):
        raise ValueError(f'PseudoLabelHook round_iters={rounds.iters}: '
                         'every student round needs iterations.')
    if teacher_checkpoint is None and rounds.iters[0] == 0:
        raise ValueError(
            'PseudoLabelHook round_iters[0]=0 skips the teacher round, '
            'so a teacher_checkpoint is needed.')
    if teacher_checkpoint is not None and rounds.iters[0] != 0:
        raise ValueError(
            f'PseudoLabelHook got teacher_checkpoint={teacher_checkpoint}'
            f' and round_iters[0]={rounds.iters[0]}; with a teacher, set '
            'round_iters[0]=0.')
    return rounds


def check_resumed_rounds(finished: Optional[Sequence[int]], rounds: Rounds,
                         r: int) -> None:
    """A ``ValueError`` if a run resumed in round ``r`` changes a round it
    has finished: ``finished`` is the checkpoint's ``round_iters`` (None for
    a run that is not resumed or has no hook state)."""
    if finished is not None and \
            list(finished[:r]) != rounds.iters[:r]:
        raise ValueError(
            f'PseudoLabelHook: the checkpoint finished rounds '
            f'{list(finished[:r])}, the config says {rounds.iters[:r]};'
            ' a resumed run may change or add rounds only from the current '
            'one on.')


def planned_iters(cfg) -> int:
    """The iterations a training config runs: ``train_cfg.max_iters``, or
    for a ``SelfTrainingLoop`` the sum of its hook's rounds."""
    if cfg.train_cfg.get('type') == 'SelfTrainingLoop':
        return Rounds(cfg.default_hooks.pseudo_label.round_iters).total
    return cfg.train_cfg.max_iters
