# Copyright (c) mmseg_sb contributors. All rights reserved.
"""tools/demo.py points every dataset of each stage's config at the data of
its seed, and prints its rows as one table."""
import importlib.util
import os.path as osp
import re

import pytest
from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def load_tool(name):
    """A script of tools/ as a module, without putting tools/ on
    sys.path."""
    spec = importlib.util.spec_from_file_location(
        f'tools_{name}', osp.join(REPO, 'tools', f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


demo = load_tool('demo')


def dataset_roots(cfg):
    """The data_root of every dataset config in ``cfg``'s train, val and
    test loaders and ``train_cfg`` (the students'), read off their text."""
    return [
        root for key in ('train_dataloader', 'val_dataloader',
                         'test_dataloader', 'train_cfg')
        for root in re.findall(r"'data_root': '([^']*)'",
                               repr(cfg[key].to_dict()))
    ]


@pytest.mark.parametrize(
    'config', [demo.SB_CONFIG, demo.SUP_CONFIG, demo.CONTROL_CONFIG] +
    list(demo.PEER_CONFIGS.values()))
def test_set_data_root_reaches_every_dataset(config):
    cfg = Config.fromfile(config)
    before = dataset_roots(cfg)
    demo.set_data_root(cfg, 'data/elsewhere/seed_1/')
    after = dataset_roots(cfg)
    # The online peers' train set has a labeled and an unlabeled part; the
    # self-training run's students have the unlabeled part beside round 0's
    # labeled set.
    assert len(after) == len(before) >= 3
    assert set(after) == {'data/elsewhere/seed_1/'}


ROWS = [('supervised (the teacher)', 800, None, 42.44),
        ('supervised, trained on (control)', 2400, None, 43.51),
        ('self-training, student round 1', 2400, 48.92, 52.08)]


def printed(monkeypatch, results, title):
    lines = []
    monkeypatch.setattr(demo, 'say', lines.append)
    demo.print_rows(results, title)
    return '\n'.join(lines)


def test_one_seed_table(monkeypatch):
    assert printed(monkeypatch, [dict(rows=ROWS)], 'Title') == (
        'Title\n'
        '| run                              | iterations | pseudo-label mIoU '
        '| val mIoU | last student gain |\n'
        '| -------------------------------- | ---------- | ----------------- '
        '| -------- | ----------------- |\n'
        '| supervised (the teacher)         | 800        | -                 '
        '| 42.44    | +9.64             |\n'
        '| supervised, trained on (control) | 2400       | -                 '
        '| 43.51    | +8.57             |\n'
        '| self-training, student round 1   | 2400       | 48.92             '
        '| 52.08    | -                 |')


def test_seeds_table_shows_mean_std_and_gains_per_seed(monkeypatch):
    other = [(name, iters, None if pseudo is None else pseudo + 2.0,
              miou + shift)
             for (name, iters, pseudo, miou), shift in zip(ROWS, (1, 2, 4))]
    text = printed(monkeypatch, [dict(rows=ROWS), dict(rows=other)], 'T')
    rows = [[c.strip() for c in line.split('|')[1:-1]]
            for line in text.splitlines()[1:]]
    assert rows[0][-1] == 'last student gain per seed'
    # mean +- (population) std over the seeds; the last student's gain
    # over each supervised run, seed by seed.
    assert rows[2][2:] == ['-', '42.94 +- 0.50', '+9.64 +12.64']
    assert rows[3][2:] == ['-', '44.51 +- 1.00', '+8.57 +10.57']
    assert rows[4][2:] == ['49.92 +- 1.00', '54.08 +- 2.00', '-']


def test_paired_table_per_seed_and_test(monkeypatch):
    """Seeds 10 and 11: teacher, control, student and student - control per
    seed, on all val images and on each half of them, then the paired test
    of student against control and the measurement noise."""
    demo = load_tool('demo')
    other = [(name, iters, pseudo, miou + shift)
             for (name, iters, pseudo, miou), shift in zip(ROWS, (1, 2, -3))]
    halves = [
        dict(control=(43.0, 44.0), student=(53.0, 51.0)),
        dict(control=(46.5, 44.5), student=(50.0, 48.0))
    ]
    lines = []
    monkeypatch.setattr(demo, 'say', lines.append)
    results = [
        dict(rows=rows, halves=h) for rows, h in zip((ROWS, other), halves)
    ]
    demo.print_paired(range(10, 12), results)
    demo.print_noise(results)
    rows = [[c.strip() for c in line.split('|')[1:-1]]
            for line in lines[0].splitlines()[2:]]
    assert lines[0].splitlines()[1].startswith('Seeds 10 to 11')
    assert rows[0] == [
        'seed', 'teacher', 'control', 'student', 'student - control',
        'on val half A', 'on val half B'
    ]
    assert rows[2] == [
        '10', '42.44', '43.51', '52.08', '+8.57', '+10.00', '+7.00'
    ]
    assert rows[3] == [
        '11', '43.44', '45.51', '49.08', '+3.57', '+3.50', '+3.50'
    ]
    assert lines[1].startswith('mean +6.07, std 3.54 over 2 seeds; wins 2 '
                               'of 2; sign test p = 0.5;')
    # |A - B| per seed: control 1.0 and 2.0, student 2.0 and 2.0, the gain
    # 3.0 and 0.0.
    assert lines[2].endswith('(mean, max over 2 seed(s)): control 1.50, '
                             '2.00; student 2.00, 2.00; student - control '
                             '1.50, 3.00')
