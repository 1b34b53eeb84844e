# Copyright (c) mmseg_sb contributors. All rights reserved.
"""Helpers for the tests, the demo and the benchmarks (not the library API):
generated data in Cityscapes' layout, the demo's figures and its
evaluation on subsets of the val images.

The readers of a run's logs are the library's
(:mod:`mmseg_sb.utils.run_logs`); ``latest_run_dir`` and ``val_mious`` are
re-exported here for the benchmarks."""
from ..utils import latest_run_dir, val_mious
from .demo_figures import colorize, write_curves, write_summary
from .evaluation import evaluate_subset
from .paired_test import PairedTest, paired_test
from .synthetic_cityscapes import (CLEAR_CITY, CONDITIONS, draw_scene,
                                   make_synthetic_cityscapes, set_data_root)

__all__ = [
    'CLEAR_CITY', 'CONDITIONS', 'colorize', 'draw_scene', 'evaluate_subset',
    'latest_run_dir', 'make_synthetic_cityscapes', 'PairedTest', 'paired_test',
    'set_data_root', 'val_mious', 'write_curves', 'write_summary'
]
