# Copyright (c) mmseg_sb contributors. All rights reserved.
"""Paired comparisons over seeds: the demo's evidence that one run beats
another on seeds no tuning looked at."""
from typing import NamedTuple, Sequence

import numpy as np
from scipy import stats


class PairedTest(NamedTuple):
    """Paired differences ``a - b`` over seeds, summarised.

    Attributes:
        n (int): Number of seeds.
        mean (float): Mean difference.
        std (float): Sample standard deviation of the differences (ddof 1).
        wins (int): Seeds where ``a`` is above ``b``.
        sign_p (float): Two-sided exact sign test (ties dropped).
        t_p (float): Two-sided paired t-test.
    """
    n: int
    mean: float
    std: float
    wins: int
    sign_p: float
    t_p: float

    def __str__(self) -> str:
        return (f'mean {self.mean:+.2f}, std {self.std:.2f} over {self.n} '
                f'seeds; wins {self.wins} of {self.n}; sign test p = '
                f'{self.sign_p:.3g}; paired t-test p = {self.t_p:.3g}')


def paired_test(a: Sequence[float], b: Sequence[float]) -> PairedTest:
    """Compare ``a`` and ``b``, paired by position (seed)."""
    diffs = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    if len(diffs) < 2:
        raise ValueError(f'A paired test needs 2 seeds or more, got '
                         f'{len(diffs)}.')
    wins, losses = int((diffs > 0).sum()), int((diffs < 0).sum())
    sign_p = stats.binomtest(wins, wins + losses).pvalue \
        if wins + losses else 1.0
    if diffs.std() > 0:
        t_p = float(stats.ttest_rel(a, b).pvalue)
    else:  # every seed the same difference: certain, or no difference
        t_p = 1.0 if diffs.mean() == 0 else 0.0
    return PairedTest(
        len(diffs), float(diffs.mean()), float(diffs.std(ddof=1)), wins,
        float(sign_p), t_p)
