# Copyright (c) mmseg_sb contributors. All rights reserved.
"""Finished runs side by side: one row per run, a markdown table with the
gap of each run to the best supervised one, and a bar chart of their mIoU
(``tools/compare.py``, ``tools/demo.py --compare``).

A run is a work dir of ``tools/train.py``: its dumped config says the method
(the segmentor type), the labeled split, the iterations and the evaluation;
its last validation gives the mIoU and the per-class IoU (see
:func:`mmseg_sb.utils.final_validation`: the latest attempt that has one),
and a run with no validation yet is a row without mIoU.
The gap is to the best supervised run of the same split and evaluation; runs
of different splits or evaluations are flagged, and no gap crosses them.
"""
import os
import os.path as osp
import re
from typing import Dict, Iterable, List, NamedTuple, Optional, Sequence, Tuple

from mmengine.config import Config

from mmseg.registry import MODELS
from ..engine.rounds import planned_iters
from ..utils import final_validation, run_config
from ..utils.run_logs import Validation

#: The method name of MMSeg's own segmentors.
SUPERVISED = 'supervised'
#: The notes of a run without validation.
NO_VALIDATION = 'no validation yet'
#: The keys under which dataset wrappers hold the dataset they wrap, the
#: labeled one first: ``SemiSupervisedDataset``, ``ConcatDataset`` (labeled
#: first), ``RepeatDataset`` and ``ClassBalancedDataset``.
WRAPPED_KEYS = ('labeled', 'datasets', 'dataset')


class RunSummary(NamedTuple):
    """What the table shows of one run."""
    work_dir: str
    method: str
    split: str
    labeled: Optional[int]
    iters: int
    evaluation: str
    miou: Optional[float]  # None: no validation yet
    class_iou: Dict[str, float]
    notes: str


def unwrapped(dataset: dict) -> dict:
    """The labeled dataset config inside any wrappers of ``dataset``."""
    for key in WRAPPED_KEYS:
        if key in dataset:
            inner = dataset[key]
            return unwrapped(inner[0] if key == 'datasets' else inner)
    return dataset


def labeled_part(cfg: Config) -> dict:
    """The labeled dataset of the training data, whatever its wrappers
    (a self-training run's round 0 trains on it alone)."""
    return unwrapped(cfg.train_dataloader.dataset)


def split_of(cfg: Config) -> Tuple[str, Optional[int]]:
    """``data_root/ann_file`` of the labeled images, and how many (None if
    the file is not here)."""
    part = labeled_part(cfg)
    path = osp.normpath(
        osp.join(part.get('data_root', ''), part.get('ann_file', '')))
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


def method_of(model_type: str) -> str:
    """The method's name in the table: the segmentor's ``method_name``,
    ``'supervised'`` for MMSeg's own segmentors, else the type itself."""
    cls = MODELS.get(model_type)
    if getattr(cls, 'method_name', None):
        return cls.method_name
    if cls is not None and cls.__module__.startswith('mmseg.'):
        return SUPERVISED
    return model_type


def start_iters(cfg: Config) -> Tuple[int, str]:
    """Iterations of the checkpoint the run started from (a teacher or
    ``load_from``, named ``iter_<n>.pth``), and a note saying so."""
    hook = cfg.get('default_hooks', {}).get('pseudo_label') or {}
    starts = [cfg.get('load_from'), hook.get('teacher_checkpoint')]
    for path in filter(None, starts):
        match = re.search(r'iter_(\d+)\.pth$', path)
        shown = osp.relpath(path) if osp.isabs(path) else path
        if match:
            return int(match.group(1)), f'from {shown}'
        return 0, f'from {shown} (iterations unknown)'
    return 0, ''


def validation_note(found: Optional[Validation], planned: int) -> str:
    """What the row's notes say of its validation: none yet, one before
    the planned end, or one of an attempt that is not the latest."""
    if found is None:
        return NO_VALIDATION
    notes = [
        f'last validation at {found.step}' if found.step != planned else '',
        '' if found.latest else
        f'validated in attempt {found.attempt}, not the latest'
    ]
    return '; '.join(filter(None, notes))


def collect_run(work_dir: str,
                result: Optional[Tuple[Optional[float], Dict[str,
                                                             float]]] = None,
                note: str = '') -> RunSummary:
    """One run's row.

    Args:
        work_dir (str): The run's work dir.
        result (tuple[float | None, dict[str, float]], optional): mIoU and
            per-class IoU measured elsewhere (e.g. by ``tools/test.py`` on
            the last checkpoint; mIoU None if it could not be), shown
            instead of the last validation. Defaults to None.
        note (str): Said of ``result`` in the row's notes. Defaults to
            ``''``.

    Returns:
        RunSummary: The row.

    Raises:
        FileNotFoundError: If ``work_dir`` does not exist or holds no
            dumped config.
    """
    cfg = run_config(work_dir)
    split, labeled = split_of(cfg)
    start, notes = start_iters(cfg)
    planned = planned_iters(cfg)
    if result is not None:
        (miou, class_iou), added = result, note
    else:
        found = final_validation(work_dir)
        miou, class_iou = (found.miou, found.class_iou) if found else (None,
                                                                       {})
        added = validation_note(found, planned)
    notes = '; '.join(filter(None, [notes, added]))
    return RunSummary(work_dir, method_of(cfg.model.type), split, labeled,
                      start + planned, evaluation_of(cfg), miou, class_iou,
                      notes)


def gaps_to_supervised(runs: Sequence[RunSummary]) -> List[Optional[float]]:
    """mIoU minus the best supervised run's of the same split and
    evaluation (None where there is none, or no mIoU)."""
    best: Dict[Tuple[str, str], float] = {}
    for r in runs:
        if r.method == SUPERVISED and r.miou is not None:
            key = (r.split, r.evaluation)
            best[key] = max(best.get(key, -1.0), r.miou)
    return [
        r.miou - best[(r.split, r.evaluation)] if r.miou is not None and
        (r.split, r.evaluation) in best else None for r in runs
    ]


def short_names(splits: Iterable[str]) -> Dict[str, str]:
    """A short name per split: the folder of its ann file (``1-8``,
    ``demo``), numbered where two differ but share it."""
    names: Dict[str, str] = {}
    for split in dict.fromkeys(splits):
        name = osp.basename(osp.dirname(split)) or split
        if name in names.values():
            name = f'{name} ({len(names) + 1})'
        names[split] = name
    return names


def markdown_table(header: Sequence, rows: Sequence[Sequence]) -> str:
    """A markdown table whose columns are padded to one width, so that it
    reads in a terminal as it renders.

    Args:
        header (Sequence): The column titles.
        rows (Sequence[Sequence]): The cells of each row (``str()`` of
            each), as many as ``header``.

    Returns:
        str: The table's lines, without a final newline.
    """
    cells = [[str(c) for c in row] for row in [header, *rows]]
    if any(len(row) != len(header) for row in cells):
        raise ValueError(f'Every row needs {len(header)} cells: {rows}')
    # At least 3 characters: a delimiter cell is '---' or longer.
    widths = [
        max(3, *(len(row[i]) for row in cells)) for i in range(len(header))
    ]

    def line(row):
        return '| ' + ' | '.join(c.ljust(w)
                                 for c, w in zip(row, widths)) + ' |'

    rule = line(['-' * w for w in widths])
    return '\n'.join([line(cells[0]), rule] + [line(r) for r in cells[1:]])


def runs_table(runs: Sequence[RunSummary], per_class: bool = False) -> str:
    """The comparison: a warning line when runs differ in split or
    evaluation, the table, then what its split and evaluation names stand
    for.

    Args:
        runs (Sequence[RunSummary]): One row each.
        per_class (bool): Add a column of IoU per class. Defaults to False.

    Returns:
        str: The text, without a final newline.
    """
    split_ids = short_names(r.split for r in runs)
    eval_ids = {
        e: f'eval {i + 1}'
        for i, e in enumerate(dict.fromkeys(r.evaluation for r in runs))
    }
    classes = list(dict.fromkeys(c for r in runs for c in r.class_iou))
    classes = classes if per_class else []
    header = [
        'method', 'split', 'labeled', 'iterations', 'mIoU',
        'gap to supervised', 'run'
    ] + classes
    rows = []
    for run, gap in zip(runs, gaps_to_supervised(runs)):
        split = split_ids[run.split]
        if len(eval_ids) > 1:
            split += f', {eval_ids[run.evaluation]}'
        name = osp.basename(osp.normpath(run.work_dir))
        # mIoU, then IoU per class; empty cells where there is no mIoU.
        scores = [''] * (1 + len(classes)) if run.miou is None else [
            f'{s:.2f}' for s in [run.miou] +
            [run.class_iou.get(c, float('nan')) for c in classes]
        ]
        rows.append([
            run.method, split, '?' if run.labeled is None else run.labeled,
            run.iters, scores[0], '-' if gap is None else f'{gap:+.2f}', name +
            (f' ({run.notes})' if run.notes else '')
        ] + scores[1:])
    lines = []
    if len(split_ids) > 1 or len(eval_ids) > 1:
        lines += [
            '**Warning: these runs differ in split or evaluation; gaps are '
            'taken only within one split and evaluation.**', ''
        ]
    lines += [markdown_table(header, rows), '']
    lines += [f'{name}: {split}' for split, name in split_ids.items()]
    lines += [f'{name}: {ev}' for ev, name in eval_ids.items()]
    return '\n'.join(lines)


def runs_bar_chart(runs: Sequence[RunSummary],
                   out: str,
                   title: str = '') -> None:
    """Write mIoU per run as bars coloured by method.

    Args:
        runs (Sequence[RunSummary]): One bar each, but none for a run
            without mIoU.
        out (str): The PNG to write.
        title (str): The chart's title. Defaults to ``'mIoU per run'``.

    Raises:
        ValueError: If no run has an mIoU.
    """
    runs = [r for r in runs if r.miou is not None]
    if not runs:
        raise ValueError('No run has an mIoU to draw.')
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
