# Copyright (c) mmseg_sb contributors. All rights reserved.
"""Round arithmetic of a self-training run, used by the hook that switches
rounds and by the schedulers that restart in every round."""
import bisect
from typing import List, Sequence


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
