# Copyright (c) mmseg_sb contributors. All rights reserved.
"""Compare finished runs: a markdown table and a bar chart of their mIoU.

Usage::

    python tools/compare.py WORK_DIR [WORK_DIR ...] [--per-class] [--test]
        [--out compare.png]

Each work dir is one run of ``tools/train.py``: its dumped config says the
method (the segmentor type), the labeled split, the iterations and the
evaluation; the final validation mIoU comes from MMEngine's
``<timestamp>/vis_data/scalars.json`` and the per-class IoU from the last
validation table of its log. With ``--test``, ``tools/test.py`` is run on
the run's last checkpoint instead. The gap is to the best supervised run of
the same split and evaluation. Runs of different splits or evaluations are
flagged: the table says so and no gap crosses them. The table and the chart
are :mod:`mmseg_sb.apis.compare`'s.
"""
import argparse
import os.path as osp
import re
import subprocess
import sys
import tempfile
from typing import Dict, Tuple

from mmseg_sb.apis import collect_run, runs_bar_chart, runs_table
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


def test_checkpoint(work_dir: str) -> Tuple[float, Dict[str, float]]:
    """mIoU and per-class IoU of ``tools/test.py`` on the run's last
    checkpoint."""
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        checkpoint = f.read().strip()
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


def main():
    args = parse_args()
    runs = [
        collect_run(w, test_checkpoint(w), 'tools/test.py')
        if args.test else collect_run(w) for w in args.work_dirs
    ]
    print(runs_table(runs, args.per_class))
    runs_bar_chart(runs, args.out)
    print(f'\nbar chart: {args.out}')


if __name__ == '__main__':
    main()
