# Copyright (c) mmseg_sb contributors. All rights reserved.
"""Compare finished runs: a markdown table and a bar chart of their mIoU.

Usage::

    python tools/compare.py WORK_DIR [WORK_DIR ...] [--per-class] [--test]
        [--out compare.png]

Each work dir is one run of ``tools/train.py``: its dumped config says the
method (the segmentor type), the labeled split, the iterations and the
evaluation; the last validation mIoU comes from MMEngine's
``<timestamp>/vis_data/scalars.json`` of the latest attempt that has one and
the per-class IoU from the last validation table of its log; a run with no
validation yet has an empty mIoU and no bar. With ``--test``,
``tools/test.py`` is run on the run's last checkpoint instead. The gap is to
the best supervised run of the same split and evaluation. Runs of different
splits or evaluations are flagged: the table says so and no gap crosses
them. The table and the chart are :mod:`mmseg_sb.apis.compare`'s.
"""
import argparse
import os.path as osp
import re
import subprocess
import sys
import tempfile
from typing import Dict, Tuple

from mmseg_sb.apis import RunSummary, collect_run, runs_bar_chart, runs_table
from mmseg_sb.utils import class_ious, run_config

TEST_TOOL = osp.join(osp.dirname(osp.abspath(__file__)), 'test.py')


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('work_dirs', nargs='+')
    parser.add_argument(
        '--per-class', action='store_true', help='add per-class IoU columns')
    parser.add_argument(
        '--test',
        action='store_true',
        help="run tools/test.py on each run's last checkpoint")
    parser.add_argument('--out', default='compare.png', help='bar chart PNG')
    return parser.parse_args()


def test_checkpoint(work_dir: str,
                    checkpoint: str) -> Tuple[float, Dict[str, float]]:
    """mIoU and per-class IoU of ``tools/test.py`` on a checkpoint of the
    run."""
    config = run_config(work_dir).filename
    with tempfile.TemporaryDirectory() as tmp:
        result = subprocess.run(
            [sys.executable, TEST_TOOL, config, checkpoint, '--work-dir', tmp],
            capture_output=True,
            text=True)
    text = result.stdout + result.stderr
    match = re.findall(r'mIoU: ([\d.]+)', text)
    if result.returncode != 0 or not match:
        raise RuntimeError(f'tools/test.py failed on {checkpoint}:\n'
                           f'{text[-2000:]}')
    return float(match[-1]), class_ious(text)


def tested_run(work_dir: str) -> RunSummary:
    """The run's row with the mIoU of ``tools/test.py`` on its last
    checkpoint; an empty mIoU and a note saying why if there is none."""
    pointer = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(pointer):
        return collect_run(work_dir, (None, {}), 'no last_checkpoint to test')
    with open(pointer) as f:
        checkpoint = f.read().strip()
    if not osp.isfile(checkpoint):
        return collect_run(work_dir, (None, {}),
                           f'last_checkpoint {checkpoint} is missing')
    return collect_run(work_dir, test_checkpoint(work_dir, checkpoint),
                       'tools/test.py')


def main():
    args = parse_args()
    try:
        # Every work dir is read before any is tested.
        runs = [collect_run(w) for w in args.work_dirs]
        if args.test:
            runs = [tested_run(w) for w in args.work_dirs]
    except (FileNotFoundError, RuntimeError) as e:
        sys.exit(f'compare: {e}')
    print(runs_table(runs, args.per_class))
    if any(run.miou is not None for run in runs):
        runs_bar_chart(runs, args.out)
        print(f'\nbar chart: {args.out}')
    else:
        print('\nno bar chart: no run has an mIoU yet')


if __name__ == '__main__':
    main()
