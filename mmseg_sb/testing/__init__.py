# Copyright (c) mmseg_sb contributors. All rights reserved.
"""Helpers for the tests, the demo and the benchmarks (not the library API):
generated data in Cityscapes' layout."""
from .logs import latest_run_dir, val_mious
from .synthetic_cityscapes import (CLEAR_CITY, CONDITIONS, draw_scene,
                                   make_synthetic_cityscapes, set_data_root)

__all__ = [
    'CLEAR_CITY', 'CONDITIONS', 'draw_scene', 'latest_run_dir',
    'make_synthetic_cityscapes', 'set_data_root', 'val_mious'
]
