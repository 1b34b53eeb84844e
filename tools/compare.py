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
flagged: the table says so and no gap crosses them.
"""
import argparse
import glob
import os
import os.path as osp
import re
import subprocess
import sys
import tempfile
from typing import Dict, List, NamedTuple, Optional, Tuple

from mmengine.config import Config

from mmseg_sb.testing import latest_run_dir, val_mious

#: Segmentor type -> method name in the table.
METHODS = {
    'EncoderDecoder': 'supervised',
    'SemiSupervisedEncoderDecoder': 'Simple Baseline',
    'UniMatchEncoderDecoder': 'UniMatch',
    'FixMatchEncoderDecoder': 'FixMatch',
}
SUPERVISED = 'supervised'
TOOLS = osp.dirname(osp.abspath(__file__))


class Run(NamedTuple):
    """What the table shows of one run."""
    work_dir: str
    method: str
    split: str
    labeled: Optional[int]
    iters: int
    evaluation: str
    miou: float
    class_iou: Dict[str, float]
    notes: str


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


def run_config(work_dir: str) -> Config:
    """The config MMEngine dumped into ``work_dir`` (the newest ``.py``)."""
    paths = sorted(glob.glob(osp.join(work_dir, '*.py')), key=osp.getmtime)
    if not paths:
        raise FileNotFoundError(
            f'{work_dir} holds no dumped config (*.py); is it the work dir '
            'of a tools/train.py run?')
    return Config.fromfile(paths[-1])


def labeled_part(cfg: Config) -> dict:
    """The labeled dataset of the training data, whatever its wrapper."""
    dataset = cfg.train_dataloader.dataset
    if 'labeled' in dataset:  # SemiSegDataset
        return dataset.labeled
    if 'datasets' in dataset:  # ConcatDataset: labeled first
        return dataset.datasets[0]
    return dataset


def split_of(cfg: Config) -> Tuple[str, Optional[int]]:
    """``data_root/ann_file`` of the labeled images, and how many."""
    part = labeled_part(cfg)
    path = osp.normpath(osp.join(part.get('data_root', ''), part.ann_file))
    if not osp.isfile(path):
        return path, None
    with open(path) as f:
        return path, sum(1 for line in f if line.strip())


def evaluation_of(cfg: Config) -> str:
    """Test mode and validation data, e.g. ``whole on data/x/val``."""
    val = cfg.val_dataloader.dataset
    prefix = val.get('data_prefix', {}).get('img_path', '')
    where = osp.normpath(osp.join(val.get('data_root', ''), prefix))
    return f'{cfg.model.test_cfg.get("mode", "whole")} on {where}'


def start_iters(cfg: Config) -> Tuple[int, str]:
    """Iterations of the checkpoint the run started from (a teacher or
    ``load_from``, named ``iter_<n>.pth``), and a note saying so."""
    starts = [cfg.get('load_from')] + [
        h.get('teacher_checkpoint') for h in cfg.get('custom_hooks', [])
    ]
    for path in filter(None, starts):
        match = re.search(r'iter_(\d+)\.pth$', path)
        shown = osp.relpath(path) if osp.isabs(path) else path
        if match:
            return int(match.group(1)), f'from {shown}'
        return 0, f'from {shown} (iterations unknown)'
    return 0, ''


def final_validation(work_dir: str) -> Tuple[int, float, Dict[str, float]]:
    """Step, mIoU and per-class IoU of the run's last validation."""
    mious = val_mious(work_dir)
    if not mious:
        raise ValueError(f'{work_dir}: no validation result yet.')
    step = max(mious)
    logs = glob.glob(osp.join(latest_run_dir(work_dir), '*.log'))
    text = ''
    if logs:
        with open(logs[0]) as f:
            text = f.read()
    return step, mious[step], class_ious(text)


def class_ious(text: str) -> Dict[str, float]:
    """IoU per class from the last ``per class results`` table of MMSeg's
    IoUMetric in a log (NaN for classes absent from the data)."""
    tables = text.split('per class results:')
    if len(tables) < 2:
        return {}
    ious = {}
    for line in tables[-1].splitlines()[4:]:
        cells = [c.strip() for c in line.split('|')[1:-1]]
        if len(cells) < 2:
            if ious:
                break
            continue
        ious[cells[0]] = float(cells[1])
    return ious


def test_checkpoint(work_dir: str, cfg_path: str) -> Tuple[float, dict]:
    """mIoU and per-class IoU of ``tools/test.py`` on the last
    checkpoint."""
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        checkpoint = f.read().strip()
    with tempfile.TemporaryDirectory() as tmp:
        result = subprocess.run([
            sys.executable,
            osp.join(TOOLS, 'test.py'), cfg_path, checkpoint, '--work-dir', tmp
        ],
                                capture_output=True,
                                text=True)
    text = result.stdout + result.stderr
    match = re.findall(r'mIoU: ([\d.]+)', text)
    if result.returncode != 0 or not match:
        raise RuntimeError(f'tools/test.py failed on {checkpoint}:\n'
                           f'{text[-2000:]}')
    return float(match[-1]), class_ious(text)


def collect(work_dir: str, test: bool = False) -> Run:
    """One run's row."""
    cfg = run_config(work_dir)
    model_type = cfg.model.type
    method = METHODS.get(model_type, model_type)
    split, labeled = split_of(cfg)
    start, notes = start_iters(cfg)
    iters = start + cfg.train_cfg.max_iters
    if test:
        miou, per_class = test_checkpoint(work_dir, cfg.filename)
        notes = '; '.join(filter(None, [notes, 'tools/test.py']))
    else:
        step, miou, per_class = final_validation(work_dir)
        if step != cfg.train_cfg.max_iters:
            notes = '; '.join(
                filter(None, [notes, f'last validation at {step}']))
    return Run(work_dir, method, split, labeled, iters, evaluation_of(cfg),
               miou, per_class, notes)


def gaps(runs: List[Run]) -> List[Optional[float]]:
    """mIoU minus the best supervised run's of the same split and
    evaluation (None where there is none)."""
    best: Dict[Tuple[str, str], float] = {}
    for r in runs:
        if r.method == SUPERVISED:
            key = (r.split, r.evaluation)
            best[key] = max(best.get(key, -1.0), r.miou)
    return [
        r.miou - best[(r.split, r.evaluation)] if
        (r.split, r.evaluation) in best else None for r in runs
    ]


def short_names(splits) -> Dict[str, str]:
    """A short name per split: the folder of its ann file (``1-8``,
    ``demo``), numbered where two differ but share it."""
    names: Dict[str, str] = {}
    for split in dict.fromkeys(splits):
        name = osp.basename(osp.dirname(split)) or split
        if name in names.values():
            name = f'{name} ({len(names) + 1})'
        names[split] = name
    return names


def markdown(runs: List[Run], per_class: bool = False) -> str:
    """The table, with a warning line above it when runs differ in split or
    evaluation."""
    split_ids = short_names(r.split for r in runs)
    eval_ids = {
        e: f'eval {i + 1}'
        for i, e in enumerate(dict.fromkeys(r.evaluation for r in runs))
    }
    classes = list(dict.fromkeys(c for r in runs for c in r.class_iou))
    header = [
        'method', 'split', 'labeled', 'iterations', 'mIoU',
        'gap to supervised', 'run'
    ]
    if per_class:
        header += classes
    lines = []
    if len(split_ids) > 1 or len(eval_ids) > 1:
        lines.append('**Warning: these runs differ in split or evaluation; '
                     'gaps are taken only within one split and '
                     'evaluation.**')
        lines.append('')
    lines += ['| ' + ' | '.join(header) + ' |', '|' + ' --- |' * len(header)]
    for run, gap in zip(runs, gaps(runs)):
        split = split_ids[run.split]
        if len(eval_ids) > 1:
            split += f', {eval_ids[run.evaluation]}'
        cells = [
            run.method, split,
            '?' if run.labeled is None else str(run.labeled),
            str(run.iters), f'{run.miou:.2f}',
            '-' if gap is None else f'{gap:+.2f}',
            osp.basename(osp.normpath(run.work_dir)) +
            (f' ({run.notes})' if run.notes else '')
        ]
        if per_class:
            cells += [
                f'{run.class_iou.get(c, float("nan")):.2f}' for c in classes
            ]
        lines.append('| ' + ' | '.join(cells) + ' |')
    lines.append('')
    lines += [f'{name}: {split}' for split, name in split_ids.items()]
    lines += [f'{name}: {ev}' for ev, name in eval_ids.items()]
    return '\n'.join(lines)


def bar_chart(runs: List[Run], out: str, title: str = '') -> None:
    """mIoU per run, coloured by method, the supervised best as a line."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    colours = dict(
        zip(
            dict.fromkeys(r.method for r in runs),
            plt.get_cmap('tab10').colors))
    fig, ax = plt.subplots(figsize=(1.6 + 1.3 * len(runs), 3.6))
    labels = [
        f'{r.method}\n{osp.basename(osp.normpath(r.work_dir))}\n'
        f'{r.iters} it' for r in runs
    ]
    bars = ax.bar(
        range(len(runs)), [r.miou for r in runs],
        color=[colours[r.method] for r in runs])
    for bar, run in zip(bars, runs):
        ax.text(
            bar.get_x() + bar.get_width() / 2,
            bar.get_height() + 0.5,
            f'{run.miou:.1f}',
            ha='center',
            va='bottom',
            fontsize=8)
    ax.set_xticks(range(len(runs)))
    ax.set_xticklabels(labels, fontsize=7)
    ax.set_ylabel('validation mIoU')
    ax.set_ylim(0, max(r.miou for r in runs) * 1.15 + 1)
    ax.set_title(title or 'mIoU per run', fontsize=9)
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main():
    args = parse_args()
    runs = [collect(w, args.test) for w in args.work_dirs]
    print(markdown(runs, args.per_class))
    bar_chart(runs, args.out)
    print(f'\nbar chart: {args.out}')


if __name__ == '__main__':
    main()
