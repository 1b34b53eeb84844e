# Copyright (c) mmseg_sb contributors. All rights reserved.
"""Reading a run from its work dir, as MMEngine writes it::

    work_dir/<config name>.py                        # the dumped config
    work_dir/<timestamp>/<timestamp>.log             # the log
    work_dir/<timestamp>/vis_data/scalars.json       # one JSON row a step

Each start of ``tools/train.py`` in the work dir (the first, and each
``--resume``) is an attempt with its own ``<timestamp>`` folder. The readers
read the latest attempt, or the one they are given by its folder's name;
:func:`final_validation` reads the latest attempt that has a validation, so
that a later attempt which crashed early hides nothing. This module is the
one place that knows this layout.
"""
import glob
import json
import os
import os.path as osp
from typing import Dict, List, NamedTuple, Optional

from mmengine.config import Config

#: What precedes the per-class table of MMSeg's ``IoUMetric`` in a log.
CLASS_TABLE_TITLE = 'per class results:'
#: Lines of that table before its first class: the title's end, the top
#: rule, the header and the header's rule.
CLASS_TABLE_HEAD = 4


class Validation(NamedTuple):
    """The last validation of an attempt."""
    step: int  # the iteration it was measured after
    miou: float  # in %, as IoUMetric logs it
    class_iou: Dict[str, float]  # IoU (in %) by class; NaN: absent class
    attempt: str  # the name of the attempt's <timestamp> folder
    latest: bool  # whether that attempt is the work dir's latest


def check_work_dir(work_dir: str) -> None:
    """Raise a ``FileNotFoundError`` naming ``work_dir`` if it is not a
    folder."""
    if not osp.isdir(work_dir):
        what = 'is not a folder' if osp.exists(work_dir) else 'does not exist'
        raise FileNotFoundError(
            f'Work dir {work_dir} {what}; pass the work dir of a '
            'tools/train.py run.')


def attempt_dirs(work_dir: str) -> List[str]:
    """The ``<timestamp>`` folders of the attempts in ``work_dir``, the
    latest first (other folders, e.g. ``pseudo_labels``, left out).

    Raises:
        FileNotFoundError: If ``work_dir`` is not a folder.
    """
    check_work_dir(work_dir)
    names = sorted((d for d in os.listdir(work_dir) if d[:1].isdigit()),
                   reverse=True)
    return [osp.join(work_dir, d) for d in names]


def latest_run_dir(work_dir: str) -> str:
    """The ``<timestamp>`` folder of the latest attempt in ``work_dir``.

    Args:
        work_dir (str): A run's work dir.

    Returns:
        str: The path of the folder.

    Raises:
        FileNotFoundError: If ``work_dir`` is not a folder or holds no
            attempt.
    """
    attempts = attempt_dirs(work_dir)
    if not attempts:
        raise FileNotFoundError(f'No MMEngine run in {work_dir}.')
    return attempts[0]


def _attempt_dir(work_dir: str, attempt: Optional[str]) -> str:
    """The folder of ``attempt`` (the latest if None) in ``work_dir``."""
    if attempt is None:
        return latest_run_dir(work_dir)
    check_work_dir(work_dir)
    return osp.join(work_dir, attempt)


def val_mious(work_dir: str,
              attempt: Optional[str] = None) -> Dict[int, float]:
    """Validation mIoU per iteration of an attempt in ``work_dir``, from
    MMEngine's ``<timestamp>/vis_data/scalars.json``. A last row cut short
    (an attempt killed while writing it) is left out.

    Args:
        work_dir (str): A run's work dir.
        attempt (str, optional): The name of the attempt's ``<timestamp>``
            folder. Defaults to None: the latest attempt.

    Returns:
        dict[int, float]: mIoU (in %, as ``IoUMetric`` logs it) by the
        iteration it was measured after; empty if the attempt logged no
        validation (or no scalar at all).
    """
    path = osp.join(
        _attempt_dir(work_dir, attempt), 'vis_data', 'scalars.json')
    if not osp.isfile(path):
        return {}
    with open(path) as f:
        # MMEngine ends each row with a newline once it is written.
        rows = [json.loads(line) for line in f if line.endswith('\n')]
    return {r['step']: r['mIoU'] for r in rows if 'mIoU' in r}


def run_log(work_dir: str, attempt: Optional[str] = None) -> str:
    """The text of an attempt's log in ``work_dir`` (``''`` if it has
    none).

    Args:
        work_dir (str): A run's work dir.
        attempt (str, optional): The name of the attempt's ``<timestamp>``
            folder. Defaults to None: the latest attempt.
    """
    logs = glob.glob(osp.join(_attempt_dir(work_dir, attempt), '*.log'))
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


def final_validation(work_dir: str) -> Optional[Validation]:
    """The last validation of the latest attempt in ``work_dir`` that has
    one: a later attempt that stopped before it validated (a resume that
    crashed) is skipped.

    Args:
        work_dir (str): A run's work dir.

    Returns:
        Validation | None: Its iteration, its mIoU, the IoU per class of
        the attempt's last log table, and which attempt it is; None if no
        attempt has a validation yet.

    Raises:
        FileNotFoundError: If ``work_dir`` is not a folder.
    """
    for i, path in enumerate(attempt_dirs(work_dir)):
        name = osp.basename(path)
        mious = val_mious(work_dir, name)
        if mious:
            step = max(mious)
            return Validation(step, mious[step],
                              class_ious(run_log(work_dir, name)), name,
                              i == 0)
    return None


def run_config(work_dir: str) -> Config:
    """The config MMEngine dumped into ``work_dir`` (the newest ``.py``).

    Args:
        work_dir (str): A run's work dir.

    Returns:
        Config: The config the run trained with; its ``filename`` is the
        dumped file.

    Raises:
        FileNotFoundError: If ``work_dir`` is not a folder or holds no
            dumped config.
    """
    check_work_dir(work_dir)
    paths = sorted(glob.glob(osp.join(work_dir, '*.py')), key=osp.getmtime)
    if not paths:
        raise FileNotFoundError(
            f'{work_dir} holds no dumped config (*.py); is it the work dir '
            'of a tools/train.py run?')
    return Config.fromfile(paths[-1])
