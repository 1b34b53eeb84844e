# Copyright (c) mmseg_sb contributors. All rights reserved.
"""Round arithmetic, without a training run."""
import pytest

from mmseg_sb.engine.rounds import Rounds, check_resumed_rounds, check_rounds


def test_round_starts():
    assert Rounds([4, 3, 3]).starts == [0, 4, 7]
    assert Rounds([0, 5]).starts == [0, 0]
    assert Rounds([4, 3, 3]).total == 10
    assert [Rounds([4, 3, 3]).end(r) for r in range(3)] == [4, 7, 10]


@pytest.mark.parametrize(
    'round_iters,expected',
    [
        ([4, 3, 3], [0, 0, 0, 0, 1, 1, 1, 2, 2, 2]),
        # A skipped teacher round (a teacher checkpoint) is never the answer.
        ([0, 3, 2], [1, 1, 1, 2, 2]),
    ])
def test_round_of_every_iteration(round_iters, expected):
    rounds = Rounds(round_iters)
    got = [rounds.of(step) for step in range(sum(round_iters))]
    assert got == expected
    # Computed another way: count the round ends at or before the step.
    for step, r in enumerate(got):
        ends = [sum(round_iters[:i + 1]) for i in range(len(round_iters))]
        assert r == sum(end <= step for end in ends)


def test_resumed_run_may_change_only_the_current_and_later_rounds():
    check_resumed_rounds(None, Rounds([4, 3, 3]), 2)  # not resumed
    check_resumed_rounds([4, 3], Rounds([4, 3, 3]), 1)  # a round added
    # The current one longer.
    check_resumed_rounds([4, 3, 3], Rounds([4, 5, 3]), 1)
    with pytest.raises(ValueError, match=r'finished rounds \[4, 3\]'):
        check_resumed_rounds([4, 3, 3], Rounds([4, 5, 3]), 2)


@pytest.mark.parametrize('round_iters,teacher,match', [
    ([4], None, 'at least one student round'),
    ([4, 0], None, 'every student round needs iterations'),
    ([0, 3], None, 'teacher_checkpoint is needed'),
    ([4, 3], 'teacher.pth', r'set round_iters\[0\]=0'),
])
def test_bad_rounds_are_named(round_iters, teacher, match):
    with pytest.raises(ValueError, match=match):
        check_rounds(round_iters, teacher)


@pytest.mark.parametrize('round_iters',
                         [[], [3, -1], [0, 0], [2.5, 3], [True, 3], ['4', 3]])
def test_bad_round_lengths_are_named(round_iters):
    with pytest.raises(ValueError, match='non-negative integers'):
        Rounds(round_iters)


@pytest.mark.parametrize('round_iters,given,expected', [
    ([4, 3, 2], None, 1),
    ([40000, 20000], None, 20000),
    ([40000, 20000], 8000, 4000),
    ([40000, 20000], -1, 20000),
    ([0, 1600], 100, 100),
    ([800, 1600], 300, 100),
])
def test_interval_lands_on_every_round_end(round_iters, given, expected):
    rounds = Rounds(round_iters)
    interval = rounds.interval(given)
    assert interval == expected
    # Checked another way: every round end is a multiple, and no larger
    # divisor of the given interval (or of the rounds) would be.
    ends = [rounds.end(r) for r in range(len(rounds))]
    assert all(end % interval == 0 for end in ends)
    bound = given if given and given > 0 else max(round_iters)
    assert not any(
        all(end % n == 0 for end in ends) and bound % n == 0
        for n in range(interval + 1, bound + 1))
