# Copyright (c) mmseg_sb contributors. All rights reserved.
"""Round arithmetic, without a training run."""
import pytest

from mmseg_sb.engine.rounds import (check_resumed_rounds, check_rounds,
                                    round_of, round_starts)


def test_round_starts():
    assert round_starts([4, 3, 3]) == [0, 4, 7]
    assert round_starts([0, 5]) == [0, 0]


@pytest.mark.parametrize(
    'round_iters,expected',
    [
        ([4, 3, 3], [0, 0, 0, 0, 1, 1, 1, 2, 2, 2]),
        # A skipped teacher round (a teacher checkpoint) is never the answer.
        ([0, 3, 2], [1, 1, 1, 2, 2]),
    ])
def test_round_of_every_iteration(round_iters, expected):
    got = [round_of(step, round_iters) for step in range(sum(round_iters))]
    assert got == expected
    # Computed another way: count the round ends at or before the step.
    for step, r in enumerate(got):
        ends = [sum(round_iters[:i + 1]) for i in range(len(round_iters))]
        assert r == sum(end <= step for end in ends)


def test_resumed_run_may_change_only_the_current_and_later_rounds():
    check_resumed_rounds(None, [4, 3, 3], 2)  # not resumed
    check_resumed_rounds([4, 3], [4, 3, 3], 1)  # a round added
    check_resumed_rounds([4, 3, 3], [4, 5, 3], 1)  # the current one longer
    with pytest.raises(ValueError, match=r'finished rounds \[4, 3\]'):
        check_resumed_rounds([4, 3, 3], [4, 5, 3], 2)


@pytest.mark.parametrize('round_iters,teacher,match', [
    ([4], None, 'at least one student round'),
    ([4, 0], None, 'every student round needs iterations'),
    ([0, 3], None, 'teacher_checkpoint is needed'),
    ([4, 3], 'teacher.pth', r'set round_iters\[0\]=0'),
])
def test_bad_rounds_are_named(round_iters, teacher, match):
    with pytest.raises(ValueError, match=match):
        check_rounds(round_iters, teacher)
