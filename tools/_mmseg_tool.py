# Copyright (c) mmseg_sb contributors. All rights reserved.
"""Run one of MMSeg 1.x's own tools with mmseg_sb registered.

``tools/train.py`` and ``tools/test.py`` are MMSeg's scripts, run unchanged
(same arguments, same behaviour) after ``import mmseg_sb``, which registers the
project's components and the checkpoint loader that makes ``--resume`` work
with torch >= 2.6.
"""
import os.path as osp
import runpy
import sys

import mmseg
import mmseg_sb  # noqa: F401  (registers components)


def run_mmseg_tool(name: str) -> None:
    """Execute ``mmseg/.mim/tools/<name>`` as ``__main__``."""
    script = osp.join(osp.dirname(mmseg.__file__), '.mim', 'tools', name)
    if not osp.isfile(script):
        sys.exit(f'MMSeg tool {script} not found: install mmsegmentation '
                 f'{mmseg.__version__} from its wheel (pip install '
                 'mmsegmentation==1.2.2), which ships tools/ and configs/.')
    sys.argv[0] = script
    runpy.run_path(script, run_name='__main__')
