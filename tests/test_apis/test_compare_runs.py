# Copyright (c) mmseg_sb contributors. All rights reserved.
"""The comparison of finished runs: rows read from work dirs written by
hand, tables against hand-written text."""
import json
import os
import os.path as osp
import re

import pytest
from mmengine.config import Config

from mmseg_sb.apis import (RunSummary, collect_run, gaps_to_supervised,
                           markdown_table, method_of, runs_bar_chart,
                           runs_table)

SUP_CONFIG = """
model = dict(type='EncoderDecoder', test_cfg=dict(mode='whole'))
train_dataloader = dict(dataset=dict(
    type='CityscapesDataset', data_root='{root}',
    ann_file='splits/a/labeled.txt'))
val_dataloader = dict(dataset=dict(
    data_root='{root}', data_prefix=dict(img_path='leftImg8bit/val')))
train_cfg = dict(type='IterBasedTrainLoop', max_iters=8)
load_from = 'work_dirs/sup/iter_100.pth'
"""
SB_CONFIG = """
model = dict(type='SemiSupervisedEncoderDecoder', test_cfg=dict(mode='slide'))
labeled = dict(data_root='{root}', ann_file='splits/a/labeled.txt')
train_dataloader = dict(dataset=labeled)
val_dataloader = dict(dataset=dict(
    data_root='{root}', data_prefix=dict(img_path='leftImg8bit/val')))
train_cfg = dict(type='SelfTrainingLoop', student_dataloader=dict(dataset=dict(
    type='SemiSupervisedDataset', labeled=labeled,
    unlabeled=dict(type='PseudoLabeledDataset', dataset=dict(
        data_root='{root}', ann_file='splits/a/unlabeled.txt')))))
default_hooks = dict(pseudo_label=dict(
    type='PseudoLabelHook', round_iters=[0, 6],
    teacher_checkpoint='t/iter_800.pth'))
"""
CLASS_TABLE = """per class results:

+-------+-------+-------+
| Class |  IoU  |  Acc  |
+-------+-------+-------+
|  road | {road} | 99.00 |
|  car  |  nan  |  nan  |
+-------+-------+-------+
"""


def write_run(work_dir, config, mious, road, stamp='20240101_120000'):
    """A work dir as MMEngine leaves it: the dumped config, the scalars
    and the log of one attempt (``stamp``; none if ``mious`` is None)."""
    os.makedirs(work_dir, exist_ok=True)
    with open(osp.join(work_dir, 'config.py'), 'w') as f:
        f.write(config)
    if mious is None:
        return work_dir
    run = osp.join(work_dir, stamp)
    os.makedirs(osp.join(run, 'vis_data'))
    with open(osp.join(run, 'vis_data', 'scalars.json'), 'w') as f:
        f.write(json.dumps(dict(loss=1.0, step=1)) + '\n')
        for step, miou in mious.items():
            f.write(json.dumps(dict(loss=1.0, step=step - 1)) + '\n')
            f.write(json.dumps(dict(mIoU=miou, aAcc=90.0, step=step)) + '\n')
    with open(osp.join(run, f'{stamp}.log'), 'w') as f:
        f.write(
            CLASS_TABLE.format(road='12.00') + 'mIoU: 1\n' +
            CLASS_TABLE.format(road=road) + 'mIoU: 2\n')
    return work_dir


@pytest.fixture
def work_dirs(tmp_path):
    root = str(tmp_path / 'data')
    os.makedirs(osp.join(root, 'splits', 'a'))
    with open(osp.join(root, 'splits', 'a', 'labeled.txt'), 'w') as f:
        f.write('aachen/a\naachen/b\n\naachen/c\n')
    return dict(
        root=root,
        sup=write_run(
            str(tmp_path / 'sup'), SUP_CONFIG.format(root=root), {
                4: 30.0,
                8: 40.0
            }, '80.00'),
        sb=write_run(
            str(tmp_path / 'sb'), SB_CONFIG.format(root=root), {4: 45.5},
            '85.50'))


def test_collect_run_reads_config_validation_and_log(work_dirs):
    root = work_dirs['root']
    split = osp.join(root, 'splits', 'a', 'labeled.txt')
    sup = collect_run(work_dirs['sup'])
    assert sup == RunSummary(work_dirs['sup'], 'supervised', split, 3, 100 + 8,
                             f'whole on {root}/leftImg8bit/val', 40.0,
                             sup.class_iou, 'from work_dirs/sup/iter_100.pth')
    assert sup.class_iou['road'] == 80.0 and list(
        sup.class_iou) == ['road', 'car']
    # A self-training run: its length from the rounds, the teacher's
    # iterations before them, a note where the last validation is early.
    sb = collect_run(work_dirs['sb'])
    assert (sb.method, sb.split, sb.labeled, sb.iters,
            sb.miou) == ('Simple Baseline', split, 3, 800 + 6, 45.5)
    assert sb.evaluation == f'slide on {root}/leftImg8bit/val'
    assert sb.notes == 'from t/iter_800.pth; last validation at 4'
    # A result measured elsewhere replaces the final validation.
    tested = collect_run(work_dirs['sb'], (47.25, {'road': 1.0}), 'tested')
    assert (tested.miou, tested.class_iou) == (47.25, {'road': 1.0})
    assert tested.notes == 'from t/iter_800.pth; tested'


def table_cells(text, run):
    """The cells of the row of ``run`` (its work dir's name) in a table."""
    line = next(
        line for line in text.splitlines()
        if line.split('|')[7:8] and line.split('|')[7].split()[0] == run)
    return [c.strip() for c in line.split('|')[1:-1]]


def test_a_run_without_validation_is_a_row_without_miou(work_dirs, tmp_path):
    config = SUP_CONFIG.format(root=work_dirs['root'])
    # No attempt folder yet; an attempt that logged losses only.
    fresh = write_run(str(tmp_path / 'fresh'), config, None, '')
    started = write_run(str(tmp_path / 'started'), config, {}, '')
    for work_dir in (fresh, started):
        run = collect_run(work_dir)
        assert (run.miou, run.class_iou, run.iters) == (None, {}, 108)
        assert run.notes == ('from work_dirs/sup/iter_100.pth; '
                             'no validation yet')
    runs = [collect_run(w) for w in (work_dirs['sup'], fresh, started)]
    assert gaps_to_supervised(runs) == [0.0, None, None]
    # The rest of the table is there; the run's scores are empty.
    text = runs_table(runs, per_class=True)
    assert table_cells(text, 'fresh') == [
        'supervised', 'a', '3', '108', '', '-',
        'fresh (from work_dirs/sup/iter_100.pth; no validation yet)', '', ''
    ]
    assert table_cells(text, 'sup')[4:] == [
        '40.00', '+0.00', 'sup (from work_dirs/sup/iter_100.pth)', '80.00',
        'nan'
    ]
    # The chart has a bar per run with an mIoU: as wide as for one run.
    import cv2
    out = str(tmp_path / 'compare.png')
    runs_bar_chart(runs, out)
    assert cv2.imread(out).shape == (396, 319, 3)
    with pytest.raises(ValueError, match='No run has an mIoU'):
        runs_bar_chart(runs[1:2], out)


def test_the_latest_attempt_with_a_validation_counts(work_dirs):
    # Which attempt that is is run_logs.final_validation's (see
    # tests/test_utils/test_run_logs.py); the row notes it if it is not
    # the latest: here a resumed attempt that crashed before it validated,
    # and a later one that died before it logged a scalar.
    sup = work_dirs['sup']
    crashed = osp.join(sup, '20240102_080000')
    os.makedirs(osp.join(crashed, 'vis_data'))
    with open(osp.join(crashed, 'vis_data', 'scalars.json'), 'w') as f:
        f.write(json.dumps(dict(loss=0.5, step=9)) + '\n')
    os.makedirs(osp.join(sup, '20240103_080000'))
    run = collect_run(sup)
    assert (run.miou, run.class_iou['road']) == (40.0, 80.0)
    assert run.notes == ('from work_dirs/sup/iter_100.pth; validated in '
                         'attempt 20240101_120000, not the latest')
    # A later attempt that validated (a resumed run that went on) counts.
    write_run(
        sup,
        SUP_CONFIG.format(root=work_dirs['root']), {8: 50.0},
        '81.00',
        stamp='20240102_090000')
    run = collect_run(sup)
    assert (run.miou, run.class_iou['road']) == (50.0, 81.0)
    assert run.notes == ('from work_dirs/sup/iter_100.pth; validated in '
                         'attempt 20240102_090000, not the latest')


@pytest.mark.parametrize(
    'wrap', [
        lambda d: dict(type='RepeatDataset', times=4, dataset=d), lambda d:
        dict(type='ClassBalancedDataset', oversample_thr=0.1, dataset=d),
        lambda d: dict(
            type='ConcatDataset',
            datasets=[
                dict(type='RepeatDataset', times=2, dataset=d),
                dict(type='CityscapesDataset', ann_file='splits/b/l.txt')
            ]), lambda d: dict(
                type='SemiSupervisedDataset',
                labeled=dict(type='RepeatDataset', times=2, dataset=d),
                unlabeled=dict(
                    type='PseudoLabeledDataset',
                    dataset=dict(ann_file='splits/a/unlabeled.txt')))
    ],
    ids=['repeat', 'class_balanced', 'concat', 'semi'])
def test_the_labeled_split_is_found_through_wrappers(work_dirs, tmp_path,
                                                     wrap):
    cfg = Config.fromstring(SUP_CONFIG.format(root=work_dirs['root']), '.py')
    cfg.train_dataloader.dataset = wrap(cfg.train_dataloader.dataset)
    work_dir = write_run(
        str(tmp_path / 'wrapped'), cfg.pretty_text, {8: 40.0}, '80.00')
    run = collect_run(work_dir)
    assert (run.split, run.labeled) == (osp.join(work_dirs['root'], 'splits',
                                                 'a', 'labeled.txt'), 3)


def test_a_path_that_is_not_a_run_is_named(tmp_path):
    missing = str(tmp_path / 'nothing')
    with pytest.raises(
            FileNotFoundError,
            match=re.escape(f'Work dir {missing} does not exist')):
        collect_run(missing)
    with pytest.raises(FileNotFoundError, match='holds no dumped config'):
        collect_run(str(tmp_path))


def test_method_names():
    assert method_of('EncoderDecoder') == 'supervised'
    assert method_of('UniMatchEncoderDecoder') == 'UniMatch'
    assert method_of('FixMatchEncoderDecoder') == 'FixMatch'
    assert method_of('MyOwnSegmentor') == 'MyOwnSegmentor'


def summary(method,
            miou,
            split='s/1-8/l.txt',
            evaluation='whole on v',
            **kwargs):
    fields = dict(
        work_dir=f'w/{method}',
        method=method,
        split=split,
        labeled=372,
        iters=100,
        evaluation=evaluation,
        miou=miou,
        class_iou={},
        notes='')
    fields.update(kwargs)
    return RunSummary(**fields)


def test_gaps_are_to_the_best_supervised_run_of_the_same_data():
    runs = [
        summary('supervised', 40.0),
        summary('supervised', 45.0),
        summary('UniMatch', 50.5),
        summary('UniMatch', 60.0, split='s/1-4/l.txt'),
        summary('FixMatch', 60.0, evaluation='slide on v')
    ]
    assert gaps_to_supervised(runs) == [-5.0, 0.0, 5.5, None, None]


def test_markdown_table_pads_its_columns():
    assert markdown_table(
        ('run', 'mIoU', 'x'),
        [('supervised', 42.5, None),
         ('sb', '-', 7)]) == ('| run        | mIoU | x    |\n'
                              '| ---------- | ---- | ---- |\n'
                              '| supervised | 42.5 | None |\n'
                              '| sb         | -    | 7    |')
    with pytest.raises(ValueError, match='needs 2 cells'):
        markdown_table(('a', 'b'), [(1, )])


def test_runs_table_flags_mixed_splits_and_evaluations():
    runs = [
        summary(
            'supervised',
            60.0,
            work_dir='w/sup',
            class_iou=dict(road=90.0, car=50.0)),
        summary(
            'Simple Baseline',
            66.25,
            work_dir='w/sb/',
            iters=300,
            class_iou=dict(road=91.5),
            notes='from x'),
        summary(
            'UniMatch',
            70.0,
            work_dir='w/other',
            split='e/1-8/l.txt',
            labeled=None,
            iters=200,
            evaluation='slide on e')
    ]
    assert runs_table(
        runs, per_class=True
    ) == (
        '**Warning: these runs differ in split or evaluation; gaps are taken '
        'only within one split and evaluation.**\n'
        '\n'
        '| method          | split           | labeled | iterations | mIoU  '
        '| gap to supervised | run         | road  | car   |\n'
        '| --------------- | --------------- | ------- | ---------- | ----- '
        '| ----------------- | ----------- | ----- | ----- |\n'
        '| supervised      | 1-8, eval 1     | 372     | 100        | 60.00 '
        '| +0.00             | sup         | 90.00 | 50.00 |\n'
        '| Simple Baseline | 1-8, eval 1     | 372     | 300        | 66.25 '
        '| +6.25             | sb (from x) | 91.50 | nan   |\n'
        '| UniMatch        | 1-8 (2), eval 2 | ?       | 200        | 70.00 '
        '| -                 | other       | nan   | nan   |\n'
        '\n'
        '1-8: s/1-8/l.txt\n'
        '1-8 (2): e/1-8/l.txt\n'
        'eval 1: whole on v\n'
        'eval 2: slide on e')
    # One split and evaluation: no warning, no evaluation names in cells.
    text = runs_table(runs[:2])
    assert text.startswith('| method ') and '| 1-8   |' in text
    assert 'road' not in text


def test_runs_bar_chart_draws_a_bar_per_run(tmp_path):
    import cv2
    out = str(tmp_path / 'charts' / 'compare.png')
    runs_bar_chart([summary('supervised', 40.0),
                    summary('UniMatch', 50.0)], out)
    # figsize (1.6 + 1.3 n, 3.6) inches at 110 dpi.
    assert cv2.imread(out).shape == (396, 462, 3)
