# Copyright (c) mmseg_sb contributors. All rights reserved.
"""Reading a finished run from its work dir, as MMEngine writes it::

    work_dir/<config name>.py                        # the dumped config
    work_dir/<timestamp>/<timestamp>.log             # the log
    work_dir/<timestamp>/vis_data/scalars.json       # one JSON row a step

Each call reads the latest run (``<timestamp>``) of the work dir.
"""
import glob
import json
import os
import os.path as osp
from typing import Dict, Tuple

from mmengine.config import Config

#: What precedes the per-class table of MMSeg's ``IoUMetric`` in a log.
CLASS_TABLE_TITLE = 'per class results:'
#: Lines of that table before its first class: the title's end, the top
#: rule, the header and the header's rule.
CLASS_TABLE_HEAD = 4


def latest_run_dir(work_dir: str) -> str:
    """The ``<timestamp>`` folder of the latest MMEngine run in ``work_dir``.

    Args:
        work_dir (str): A run's work dir.

    Returns:
        str: The path of the folder.
    """
    runs = sorted(d for d in os.listdir(work_dir) if d[:1].isdigit())
    if not runs:
        raise FileNotFoundError(f'No MMEngine run in {work_dir}.')
    return osp.join(work_dir, runs[-1])


def val_mious(work_dir: str) -> Dict[int, float]:
    """Validation mIoU per iteration of the latest run in ``work_dir``, from
    MMEngine's ``<timestamp>/vis_data/scalars.json``.

    Args:
        work_dir (str): A run's work dir.

    Returns:
        dict[int, float]: mIoU (in %, as ``IoUMetric`` logs it) by the
        iteration it was measured after.
    """
    path = osp.join(latest_run_dir(work_dir), 'vis_data', 'scalars.json')
    with open(path) as f:
        rows = [json.loads(line) for line in f]
    return {r['step']: r['mIoU'] for r in rows if 'mIoU' in r}


def run_log(work_dir: str) -> str:
    """The text of the latest run's log in ``work_dir`` (``''`` if it has
    none)."""
    logs = glob.glob(osp.join(latest_run_dir(work_dir), '*.log'))
    if not logs:
        return ''
    with open(logs[0]) as f:
        return f.read()


def class_ious(text: str) -> Dict[str, float]:
    """IoU per class from the last ``per class results`` table that MMSeg's
    ``IoUMetric`` printed in ``text`` (a log, or a tool's output).

    Args:
        text (str): Text holding the table.

    Returns:
        dict[str, float]: IoU (in %) by class name, NaN for classes absent
        from the data; empty if ``text`` holds no table.
    """
    tables = text.split(CLASS_TABLE_TITLE)
    if len(tables) < 2:
        return {}
    ious = {}
    for line in tables[-1].splitlines()[CLASS_TABLE_HEAD:]:
        cells = [c.strip() for c in line.split('|')[1:-1]]
        if len(cells) < 2:
            if ious:
                break
            continue
        ious[cells[0]] = float(cells[1])
    return ious


def final_validation(work_dir: str) -> Tuple[int, float, Dict[str, float]]:
    """The last validation of the latest run in ``work_dir``.

    Args:
        work_dir (str): A run's work dir.

    Returns:
        tuple[int, float, dict[str, float]]: Its iteration, its mIoU and the
        IoU per class of the log's last table.
    """
    mious = val_mious(work_dir)
    if not mious:
        raise ValueError(f'{work_dir}: no validation result yet.')
    step = max(mious)
    return step, mious[step], class_ious(run_log(work_dir))


def run_config(work_dir: str) -> Config:
    """The config MMEngine dumped into ``work_dir`` (the newest ``.py``).

    Args:
        work_dir (str): A run's work dir.

    Returns:
        Config: The config the run trained with; its ``filename`` is the
        dumped file.
    """
    paths = sorted(glob.glob(osp.join(work_dir, '*.py')), key=osp.getmtime)
    if not paths:
        raise FileNotFoundError(
            f'{work_dir} holds no dumped config (*.py); is it the work dir '
            'of a tools/train.py run?')
    return Config.fromfile(paths[-1])
