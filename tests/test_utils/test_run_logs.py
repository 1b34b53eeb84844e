# Copyright (c) mmseg_sb contributors. All rights reserved.
"""A finished run read back from what MMEngine wrote, against what the run
itself reported."""
import json
import os
import os.path as osp
import re

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

from mmseg.datasets import CityscapesDataset
from mmseg_sb.testing import set_data_root
from mmseg_sb.utils import (class_ious, final_validation, latest_run_dir,
                            run_config, run_log, val_mious)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SUP_CONFIG = osp.join(REPO, 'configs/demo/sup_deeplabv3plus_r18_synthetic.py')
ITERS, VAL_INTERVAL = 4, 2


class MetricsRecorder(Hook):
    """Keeps the metrics of every validation, by iteration."""

    def __init__(self):
        self.metrics = {}

    def after_val_epoch(self, runner, metrics=None):
        self.metrics[runner.iter] = dict(metrics)


@pytest.fixture(scope='module')
def finished_run(cityscapes_root, tmp_path_factory):
    """A supervised run of 4 iterations, validated at 2 and 4, and the
    metrics its validation loop returned."""
    cfg = Config.fromfile(SUP_CONFIG)
    set_data_root(cfg, cityscapes_root)
    work_dir = str(tmp_path_factory.mktemp('run'))
    cfg.merge_from_dict({
        'work_dir': work_dir,
        # One visualizer per name in a process: keep this run's apart.
        'visualizer.name': f'visualizer_{work_dir}',
        'train_dataloader.batch_size': 2,
        'train_dataloader.dataset.ann_file': 'splits/tiny/labeled.txt',
        'train_cfg.max_iters': ITERS,
        'train_cfg.val_interval': VAL_INTERVAL,
        'default_hooks.checkpoint.interval': ITERS,
        'default_hooks.logger.interval': 1,
    })
    runner = Runner.from_cfg(cfg)
    recorder = MetricsRecorder()
    runner.register_hook(recorder)
    runner.train()
    return cfg.work_dir, recorder.metrics


@pytest.mark.slow
def test_val_mious_are_the_validation_results(finished_run):
    work_dir, metrics = finished_run
    assert sorted(metrics) == [VAL_INTERVAL, ITERS]
    assert val_mious(work_dir) == {
        step: m['mIoU']
        for step, m in metrics.items()
    }


@pytest.mark.slow
def test_final_validation_and_its_class_table(finished_run):
    work_dir, metrics = finished_run
    step, miou, ious, attempt, latest = final_validation(work_dir)
    assert (step, miou) == (ITERS, metrics[ITERS]['mIoU'])
    assert (attempt, latest) == (osp.basename(latest_run_dir(work_dir)), True)
    # The last of the log's two tables: IoUMetric's mIoU is the mean of its
    # classes present in the data (the table rounds each to 2 decimals).
    assert list(ious) == list(CityscapesDataset.METAINFO['classes'])
    assert np.nanmean(list(ious.values())) == pytest.approx(miou, abs=0.011)
    assert any(np.isnan(v) for v in ious.values())  # 11 of 19 classes
    np.testing.assert_equal(ious, class_ious(run_log(work_dir)))
    assert run_log(work_dir).count('per class results:') == 2


@pytest.mark.slow
def test_run_config_is_the_dumped_config(finished_run):
    work_dir, _ = finished_run
    cfg = run_config(work_dir)
    assert cfg.filename == osp.join(work_dir, osp.basename(SUP_CONFIG))
    assert cfg.model.type == 'EncoderDecoder'
    assert cfg.train_cfg.max_iters == ITERS
    assert cfg.train_dataloader.dataset.ann_file == 'splits/tiny/labeled.txt'


def test_latest_run_dir_skips_other_folders(tmp_path):
    with pytest.raises(FileNotFoundError, match='No MMEngine run'):
        latest_run_dir(str(tmp_path))
    for name in ('20240101_120000', '20240102_080000', 'pseudo_labels',
                 'export'):
        os.makedirs(tmp_path / name)
    assert latest_run_dir(str(tmp_path)) == str(tmp_path / '20240102_080000')
    assert run_log(str(tmp_path)) == ''


def write_attempt(work_dir, stamp, rows, log=None, cut=''):
    """An attempt's folder as MMEngine leaves it: a scalars row per dict in
    ``rows``, then ``cut`` (a row cut short), and ``log`` if given."""
    attempt = osp.join(work_dir, stamp)
    os.makedirs(osp.join(attempt, 'vis_data'))
    with open(osp.join(attempt, 'vis_data', 'scalars.json'), 'w') as f:
        f.write(''.join(json.dumps(r) + '\n' for r in rows) + cut)
    if log is not None:
        with open(osp.join(attempt, f'{stamp}.log'), 'w') as f:
            f.write(log)
    return attempt


def test_a_run_without_validation_or_config(tmp_path):
    # No attempt yet, then one that logged losses only.
    assert final_validation(str(tmp_path)) is None
    write_attempt(str(tmp_path), '20240101_120000', [dict(loss=1.0, step=1)])
    assert val_mious(str(tmp_path)) == {}
    assert final_validation(str(tmp_path)) is None
    with pytest.raises(FileNotFoundError, match='no dumped config'):
        run_config(str(tmp_path))


def test_the_latest_attempt_with_a_validation_is_final(tmp_path):
    work_dir = str(tmp_path)
    table = ('per class results:\n\n+\n| Class | IoU |\n+\n'
             '| road | {} |\n+\n')
    write_attempt(
        work_dir,
        '20240101_120000', [
            dict(loss=1.0, step=3),
            dict(mIoU=30.0, step=4),
            dict(mIoU=40.0, step=8)
        ],
        log=table.format('12.00') + table.format('80.00'))
    # A resume that crashed before it validated, its last row cut short,
    # and a later one that died before it logged a scalar.
    write_attempt(
        work_dir,
        '20240102_080000', [dict(loss=0.5, step=9)],
        log='Traceback (most recent call last):\n',
        cut='{"mIoU": 5')
    os.makedirs(osp.join(work_dir, '20240103_080000'))
    os.makedirs(osp.join(work_dir, 'pseudo_labels'))
    assert final_validation(work_dir) == (8, 40.0, {
        'road': 80.0
    }, '20240101_120000', False)
    # The readers read the latest attempt, or the one they are given.
    assert val_mious(work_dir) == {} and run_log(work_dir) == ''
    assert val_mious(work_dir, '20240102_080000') == {}
    assert run_log(work_dir, '20240102_080000').startswith('Traceback')
    assert val_mious(work_dir, '20240101_120000') == {4: 30.0, 8: 40.0}
    # A resume that validated is final, and the latest.
    write_attempt(work_dir, '20240104_080000', [dict(mIoU=50.0, step=12)])
    assert final_validation(work_dir) == (12, 50.0, {}, '20240104_080000',
                                          True)


def test_a_work_dir_that_is_not_there_is_named(tmp_path):
    missing = str(tmp_path / 'nothing')
    readers = (latest_run_dir, val_mious, run_log, final_validation,
               run_config, lambda w: val_mious(w, '20240101_120000'))
    for read in readers:
        with pytest.raises(
                FileNotFoundError,
                match=re.escape(f'Work dir {missing} does not exist; pass '
                                'the work dir of a tools/train.py run.')):
            read(missing)
    (tmp_path / 'file').write_text('')
    with pytest.raises(FileNotFoundError, match='is not a folder'):
        run_config(str(tmp_path / 'file'))


def test_class_ious_reads_the_last_table():
    table = ('per class results:\n\n'
             '+----------+-------+-------+\n'
             '|  Class   |  IoU  |  Acc  |\n'
             '+----------+-------+-------+\n'
             '|   road   | {road} | 95.10 |\n'
             '| sidewalk |  nan  |  nan  |\n'
             '+----------+-------+-------+\n')
    text = ('12/01 10:00:00 - mmengine - INFO - ' +
            table.format(road='10.00') + 'Iter(val) [4/4] mIoU: 10.00\n' +
            table.format(road='91.25') + 'Iter(val) [4/4] mIoU: 91.25\n')
    ious = class_ious(text)
    assert list(ious) == ['road', 'sidewalk']
    assert ious['road'] == 91.25 and np.isnan(ious['sidewalk'])
    assert class_ious('no table here') == {}
