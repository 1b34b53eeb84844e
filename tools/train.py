# Copyright (c) mmseg_sb contributors. All rights reserved.
"""Train a segmentor: MMSeg's tools/train.py with mmseg_sb registered.

Usage (the arguments of MMSeg 1.2.2's tools/train.py)::

    python tools/train.py CONFIG [--work-dir DIR] [--resume] [--amp]
        [--cfg-options KEY=VALUE ...] [--launcher {none,pytorch,slurm,mpi}]
"""
from _mmseg_tool import run_mmseg_tool

if __name__ == '__main__':
    run_mmseg_tool('train.py')
