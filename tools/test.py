# Copyright (c) mmseg_sb contributors. All rights reserved.
"""Test a checkpoint: MMSeg's tools/test.py with mmseg_sb registered.

Usage (the arguments of MMSeg 1.2.2's tools/test.py)::

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out DIR]
        [--show] [--show-dir DIR] [--wait-time S] [--tta]
        [--cfg-options KEY=VALUE ...] [--launcher {none,pytorch,slurm,mpi}]
"""
from _mmseg_tool import run_mmseg_tool

if __name__ == '__main__':
    run_mmseg_tool('test.py')
