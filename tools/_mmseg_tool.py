# Copyright (c) mmseg_sb contributors. All rights reserved.
"""Run one of MMSeg 1.x's own tools with mmseg_sb registered.

``tools/train.py`` and ``tools/test.py`` are MMSeg's scripts, run unchanged
(same arguments, same behaviour) after ``import mmseg_sb``, which registers the
project's components and the checkpoint loader that makes ``--resume`` work
with torch >= 2.6.

On a machine without CUDA, ``--launcher pytorch`` (``tools/dist_train.sh``)
runs on the CPU: MMEngine's launcher calls ``torch.cuda.set_device``, so the
process group is started here with gloo from torchrun's environment (MMEngine
then finds it and does not start its own), and DDP wraps the model without
``device_ids``, as it must for a CPU module, finding unused parameters.
"""
import os.path as osp
import runpy
import sys
from typing import List

import torch
import torch.distributed as dist

import mmseg
import mmseg_sb  # noqa: F401  (registers components)

#: --cfg-options of a CPU run under torchrun.
CPU_DDP_OPTIONS = [
    'env_cfg.dist_cfg.backend=gloo',
    'model_wrapper_cfg.type=MMDistributedDataParallel',
    'model_wrapper_cfg.device_ids=None',
    # A given model_wrapper_cfg hides the config's top-level
    # find_unused_parameters from MMEngine; the Simple Baseline needs it.
    'model_wrapper_cfg.find_unused_parameters=True'
]


def launcher(argv: List[str]) -> str:
    """The ``--launcher`` of a tool's arguments (``'none'`` if absent)."""
    for i, arg in enumerate(argv):
        if arg == '--launcher' and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith('--launcher='):
            return arg.split('=', 1)[1]
    return 'none'


def start_cpu_processes(argv: List[str]) -> List[str]:
    """For ``--launcher pytorch`` without CUDA, start the gloo process group
    and return ``argv`` with :data:`CPU_DDP_OPTIONS`; else ``argv``."""
    if launcher(argv) != 'pytorch' or torch.cuda.is_available():
        return argv
    dist.init_process_group('gloo')
    return argv + ['--cfg-options', *CPU_DDP_OPTIONS]


def run_mmseg_tool(name: str) -> None:
    """Execute ``mmseg/.mim/tools/<name>`` as ``__main__``."""
    script = osp.join(osp.dirname(mmseg.__file__), '.mim', 'tools', name)
    if not osp.isfile(script):
        sys.exit(f'MMSeg tool {script} not found: install mmsegmentation '
                 f'{mmseg.__version__} from its wheel (pip install '
                 'mmsegmentation==1.2.2), which ships tools/ and configs/.')
    sys.argv = [script] + start_cpu_processes(sys.argv[1:])
    runpy.run_path(script, run_name='__main__')
