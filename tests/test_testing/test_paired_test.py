# Copyright (c) mmseg_sb contributors. All rights reserved.
import math

import numpy as np
import pytest

from mmseg_sb.testing import paired_test


def test_against_the_formulas():
    rng = np.random.default_rng(0)
    control = rng.normal(45, 3, 8)
    student = control + rng.normal(1.0, 2.0, 8)
    student[3] = control[3]  # a tie: dropped by the sign test
    result = paired_test(student, control)
    diffs = student - control
    assert result.n == 8 and result.mean == pytest.approx(diffs.mean())
    assert result.std == pytest.approx(diffs.std(ddof=1))
    wins, losses = (diffs > 0).sum(), (diffs < 0).sum()
    assert result.wins == wins
    # Exact two-sided sign test: twice the smaller binomial tail.
    n, k = wins + losses, min(wins, losses)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2**n
    assert result.sign_p == pytest.approx(min(1.0, 2 * tail))
    # Paired t: t = mean / (sd / sqrt(n)), 7 degrees of freedom; p from the
    # t distribution's tail integrated numerically.
    t = diffs.mean() / (diffs.std(ddof=1) / math.sqrt(8))
    xs = np.linspace(abs(t), 60, 200001)
    density = (1 + xs**2 / 7)**-4 * math.gamma(4) / (
        math.sqrt(7 * math.pi) * math.gamma(3.5))
    assert result.t_p == pytest.approx(2 * np.trapezoid(density, xs), rel=1e-3)


def test_degenerate_cases():
    assert paired_test([1, 2, 3], [1, 2, 3]).t_p == 1.0
    assert paired_test([2, 3, 4], [1, 2, 3]).t_p == 0.0
    assert paired_test([2, 3, 4], [1, 2, 3]).sign_p == pytest.approx(0.25)
    with pytest.raises(ValueError, match='2 seeds or more'):
        paired_test([1], [0])
    assert 'wins 3 of 3' in str(paired_test([2, 3, 4], [1, 2, 3]))
