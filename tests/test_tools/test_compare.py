# Copyright (c) mmseg_sb contributors. All rights reserved.
"""UniMatch and FixMatch train through tools/train.py; tools/compare.py
compares them with a supervised run, and with runs that are unfinished or
not runs at all."""
import json
import os
import os.path as osp
import re
import shutil
import sys

import pytest

from mmseg_sb.utils import latest_run_dir, val_mious

from test_demo import load_tool  # isort: skip
from test_train import loader_options, run_tool  # isort: skip

compare = load_tool('compare')

CONFIGS = dict(
    sup='configs/demo/sup_deeplabv3plus_r18_synthetic.py',
    unimatch='configs/demo/unimatch_deeplabv3plus_r18_synthetic.py',
    fixmatch='configs/demo/fixmatch_deeplabv3plus_r18_synthetic.py')
ITERS = 4


def options(name, data_root, work_dir):
    common = loader_options(data_root) + [
        f'train_cfg.max_iters={ITERS}', f'train_cfg.val_interval={ITERS}',
        'default_hooks.logger.interval=1',
        f'default_hooks.checkpoint.interval={ITERS}',
        'train_dataloader.batch_size=4'
    ]
    if name == 'sup':
        data = [
            f'train_dataloader.dataset.data_root={data_root}',
            'train_dataloader.dataset.ann_file=splits/tiny/labeled.txt',
            f'param_scheduler.0.end={ITERS}'
        ]
    else:
        data = [
            f'train_dataloader.dataset.labeled.data_root={data_root}',
            'train_dataloader.dataset.labeled.ann_file='
            'splits/tiny/labeled.txt',
            f'train_dataloader.dataset.unlabeled.data_root={data_root}',
            'train_dataloader.dataset.unlabeled.ann_file='
            'splits/tiny/unlabeled.txt',
            'train_dataloader.sampler.batch_size=4',
            f'param_scheduler.0.end={ITERS}',
            # A low threshold, so that 4 iterations train the strong views.
            'model.semi_train_cfg.conf_thresh=0.05'
        ]
    return ['--work-dir', work_dir, '--cfg-options'] + common + data


@pytest.fixture(scope='module')
def runs(cityscapes_root, tmp_path_factory):
    root = tmp_path_factory.mktemp('runs')
    work_dirs = {}
    for name, config in CONFIGS.items():
        work_dir = str(root / name)
        result = run_tool(['tools/train.py', config] +
                          options(name, cityscapes_root, work_dir))
        assert result.returncode == 0, result.stderr[-3000:]
        log = result.stdout + result.stderr
        assert f'Iter(train) [{ITERS}/{ITERS}]' in log
        if name != 'sup':
            losses = re.findall(r'unsup.loss_strong_1: ([\d.]+)', log)
            assert losses and float(losses[-1]) > 0
            assert ('unsup.loss_fp' in log) == (name == 'unimatch')
            assert 'unsup.loss_strong_2' in log if name == 'unimatch' else True
            # Exported for MMSeg alone, as the self-training runs.
            assert osp.isfile(osp.join(work_dir, 'export', 'model.pth'))
        work_dirs[name] = work_dir
    return work_dirs


def table_rows(text, column=0):
    """The cells of each row of a table by the first word of a column."""
    return {
        cells[column].split()[0]: cells
        for cells in ([c.strip() for c in line.split('|')[1:-1]]
                      for line in text.splitlines() if line.startswith('| '))
    }


@pytest.mark.slow
def test_compare_prints_the_table_and_writes_the_chart(runs, tmp_path):
    out = str(tmp_path / 'compare.png')
    result = run_tool(['tools/compare.py'] + list(runs.values()) +
                      ['--out', out, '--per-class'])
    assert result.returncode == 0, result.stderr[-3000:]
    rows = table_rows(result.stdout)
    header = rows['method']
    assert header[:6] == [
        'method', 'split', 'labeled', 'iterations', 'mIoU', 'gap to supervised'
    ]
    assert 'road' in header  # --per-class
    sup = val_mious(runs['sup'])[ITERS]
    for method, name in (('supervised', 'sup'), ('UniMatch', 'unimatch'),
                         ('FixMatch', 'fixmatch')):
        row = rows[method]
        miou = val_mious(runs[name])[ITERS]
        assert row[2:5] == ['6', str(ITERS), f'{miou:.2f}']
        assert float(row[5]) == pytest.approx(miou - sup, abs=0.011)
    assert 'Warning' not in result.stdout
    assert osp.getsize(out) > 1000


@pytest.mark.slow
def test_test_mode_and_mixed_splits(runs, tmp_path):
    # --test evaluates the last checkpoint with tools/test.py: the same
    # number as the run's own final validation.
    result = run_tool([
        'tools/compare.py', runs['unimatch'], '--test', '--out',
        str(tmp_path / 'a.png')
    ])
    assert result.returncode == 0, result.stderr[-3000:]
    row = table_rows(result.stdout)['UniMatch']
    assert float(row[4]) == pytest.approx(
        val_mious(runs['unimatch'])[ITERS], abs=0.011)
    # A run on another split is flagged, and no gap crosses splits.
    other = str(tmp_path / 'other_split')
    shutil.copytree(runs['sup'], other)
    config = osp.join(other, osp.basename(CONFIGS['sup']))
    with open(config) as f:
        text = f.read()
    with open(config, 'w') as f:
        f.write(
            text.replace('splits/tiny/labeled.txt',
                         'splits/tiny/unlabeled.txt'))
    result = run_tool([
        'tools/compare.py', runs['unimatch'], other, '--out',
        str(tmp_path / 'b.png')
    ])
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'Warning: these runs differ in split' in result.stdout
    rows = table_rows(result.stdout)
    assert rows['UniMatch'][5] == '-'
    assert rows['UniMatch'][1] != rows['supervised'][1]


@pytest.mark.slow
def test_unfinished_runs_are_rows(runs, tmp_path):
    # No validation yet: the run's attempt folder is gone.
    unfinished = str(tmp_path / 'unfinished')
    shutil.copytree(runs['sup'], unfinished)
    shutil.rmtree(latest_run_dir(unfinished))
    # A later attempt (a resume) that crashed before it validated.
    resumed = str(tmp_path / 'resumed')
    shutil.copytree(runs['fixmatch'], resumed)
    crashed = osp.join(resumed, '29991231_235959', 'vis_data')
    os.makedirs(crashed)
    with open(osp.join(crashed, 'scalars.json'), 'w') as f:
        f.write(json.dumps(dict(loss=1.0, step=ITERS + 1)) + '\n')
    out = str(tmp_path / 'compare.png')
    result = run_tool(
        ['tools/compare.py', runs['sup'], unfinished, resumed, '--out', out])
    assert result.returncode == 0, result.stderr[-3000:]
    rows = table_rows(result.stdout, column=6)
    assert rows['unfinished'][4:7] == [
        '', '-', 'unfinished (no validation yet)'
    ]
    assert rows['sup'][4:6] == [
        f'{val_mious(runs["sup"])[ITERS]:.2f}', '+0.00'
    ]
    assert rows['resumed'][4] == f'{val_mious(runs["fixmatch"])[ITERS]:.2f}'
    assert 'not the latest' in rows['resumed'][6]
    # Two bars: figsize (1.6 + 1.3 n, 3.6) inches at 110 dpi.
    import cv2
    assert cv2.imread(out).shape == (396, 462, 3)
    # --test on a run that saved no checkpoint: a row that says so.
    os.remove(osp.join(unfinished, 'last_checkpoint'))
    result = run_tool(['tools/compare.py', unfinished, '--test', '--out', out])
    assert result.returncode == 0, result.stderr[-3000:]
    row = table_rows(result.stdout)['supervised']
    assert row[4:7] == ['', '-', 'unfinished (no last_checkpoint to test)']
    assert 'no bar chart: no run has an mIoU yet' in result.stdout


def test_a_path_that_is_not_a_run_is_named(tmp_path, monkeypatch):
    missing = str(tmp_path / 'nothing')
    messages = {
        missing: f'compare: Work dir {missing} does not exist; pass the '
        'work dir of a tools/train.py run.',
        str(tmp_path): f'compare: {tmp_path} holds no dumped config'
    }
    for work_dir, message in messages.items():
        monkeypatch.setattr(sys, 'argv', ['compare.py', work_dir, '--test'])
        with pytest.raises(SystemExit) as e:
            compare.main()
        assert str(e.value.code).startswith(message)
