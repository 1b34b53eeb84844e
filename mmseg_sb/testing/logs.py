# Copyright (c) mmseg_sb contributors. All rights reserved.
import json
import os
import os.path as osp
from typing import Dict


def latest_run_dir(work_dir: str) -> str:
    """The ``<timestamp>`` folder of the latest MMEngine run in
    ``work_dir``."""
    runs = sorted(d for d in os.listdir(work_dir) if d[:1].isdigit())
    if not runs:
        raise FileNotFoundError(f'No MMEngine run in {work_dir}.')
    return osp.join(work_dir, runs[-1])


def val_mious(work_dir: str) -> Dict[int, float]:
    """Validation mIoU per iteration of the latest run in ``work_dir``,
    from MMEngine's ``<timestamp>/vis_data/scalars.json``."""
    path = osp.join(latest_run_dir(work_dir), 'vis_data', 'scalars.json')
    with open(path) as f:
        rows = [json.loads(line) for line in f]
    return {r['step']: r['mIoU'] for r in rows if 'mIoU' in r}
