# Copyright (c) mmseg_sb contributors. All rights reserved.
"""tools/demo.py points every dataset of each stage's config at the data of
its seed, prints its rows as one table, and runs the recipe variants beside
the release's recipe."""
import importlib.util
import json
import os
import os.path as osp
import re
from types import SimpleNamespace

import pytest
from mmengine.config import Config

from mmseg.registry import TRANSFORMS
from mmseg_sb.datasets.transforms.strong_ops import STRONG_OPS
from mmseg_sb.utils import mark_round_complete, round_dir

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


def test_every_stage_trains_as_long_as_its_counterpart():
    """The teacher trains for round 0's iterations, the control for the
    students', each online peer for both; all validate at one interval."""
    rounds = Config.fromfile(demo.SB_CONFIG).default_hooks.pseudo_label
    teacher, students = rounds.round_iters[0], sum(rounds.round_iters[1:])
    expected = {demo.SUP_CONFIG: teacher, demo.CONTROL_CONFIG: students}
    expected.update(
        {config: teacher + students
         for config in demo.PEER_CONFIGS.values()})
    intervals = {Config.fromfile(demo.SB_CONFIG).train_cfg.val_interval}
    for config, iters in expected.items():
        cfg = Config.fromfile(config)
        assert cfg.train_cfg.max_iters == iters, config
        intervals.add(cfg.train_cfg.val_interval)
    assert len(intervals) == 1


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


def flat(tree, prefix=''):
    """A config's leaves by dotted key (list items by index)."""
    items = tree.items() if isinstance(tree, dict) else enumerate(tree) \
        if isinstance(tree, list) else None
    if items is None:
        return {prefix: tree}
    return {
        key: leaf
        for k, sub in items
        for key, leaf in flat(sub, f'{prefix}{k}.').items()
    }


def stage_config(variant, accumulate=1, round_iters=None):
    cfg = Config.fromfile(demo.SB_CONFIG)
    rounds = demo.schedule(cfg, round_iters)
    cfg.merge_from_dict(demo.stage_options(cfg, variant, accumulate, rounds))
    return cfg


@pytest.mark.parametrize('variant', list(demo.VARIANTS))
def test_each_variant_changes_one_thing_for_as_many_iterations(variant):
    """Against the release's recipe, a variant changes only its own
    options; its students train as long as the control in all."""
    cfg = stage_config(variant)
    release, leaves = flat(stage_config(None).to_dict()), flat(cfg.to_dict())
    changed = {
        key
        for key in release.keys() | leaves.keys()
        if release.get(key, 'absent') != leaves.get(key, 'absent')
    }
    hook = cfg.default_hooks.pseudo_label
    control = Config.fromfile(demo.CONTROL_CONFIG)
    release = Config.fromfile(demo.SB_CONFIG).default_hooks.pseudo_label
    assert sum(hook.round_iters) == control.train_cfg.max_iters == sum(
        release.round_iters[1:])
    assert hook.round_iters[0] == 0
    expected = {
        'two-rounds': {
            'default_hooks.pseudo_label.round_iters.1.',
            'default_hooks.pseudo_label.round_iters.2.'
        },
        'tta': {'default_hooks.pseudo_label.tta.'},
        'reinit': {'default_hooks.pseudo_label.student_init.'},
    }.get(variant)
    if expected is not None:
        assert changed == expected
        return
    # gentle-strong: the strong view's StrongAugment has 15 ops, without
    # the two named; the weak view and everything else are as released.
    assert changed and all(
        key.startswith('train_cfg.student_dataloader.dataset.views.1.2.ops.')
        for key in changed)
    weak, strong = cfg.train_cfg.student_dataloader.dataset.views
    assert 'StrongAugment' not in {t['type'] for t in weak}
    augment = TRANSFORMS.build(strong[2])
    assert type(augment).__name__ == 'StrongAugment'
    assert augment.ops == [
        op for op in STRONG_OPS if op not in ('dropout', 'multiply')
    ]


def test_round_iters_sets_every_stage():
    """--round-iters T S ...: the teacher trains T iterations, the control
    and the students all the student rounds, the peers all; the poly
    schedules follow (no fixed end), and two-rounds halves the students'
    iterations, the odd one to its first round."""
    rounds = [1000, 400, 601]
    options = demo.schedule_options(demo.schedule(None, rounds))
    for config, key, iters in [(demo.SUP_CONFIG, 'sup', 1000),
                               (demo.CONTROL_CONFIG, 'control', 1001),
                               *((config, 'peers', 2001)
                                 for config in demo.PEER_CONFIGS.values())]:
        cfg = Config.fromfile(config)
        cfg.merge_from_dict(options[key])
        assert cfg.train_cfg.max_iters == iters, config
        schedulers = cfg.param_scheduler
        for scheduler in (schedulers
                          if isinstance(schedulers, list) else [schedulers]):
            assert 'end' not in scheduler, config
    release = stage_config(None, round_iters=rounds)
    assert release.default_hooks.pseudo_label.round_iters == [0, 400, 601]
    two = stage_config('two-rounds', round_iters=rounds)
    assert two.default_hooks.pseudo_label.round_iters == [0, 501, 500]


@pytest.mark.parametrize('rounds', [[600], [0, 1200], [600, 1200, -1]])
def test_round_iters_refused_naming_the_value(rounds):
    with pytest.raises(
            SystemExit,
            match='--round-iters ' + ' '.join(map(str, rounds)) + ': give'):
        demo.schedule(None, rounds)


@pytest.mark.parametrize('n', [0, -2])
def test_seeds_refused_naming_the_value(n):
    with pytest.raises(SystemExit, match=f'--seeds {n}: give at least 1'):
        demo.seed_range(SimpleNamespace(seeds=n, first_seed=100))
    assert demo.seed_range(SimpleNamespace(seeds=8, first_seed=100)) == \
        demo.HELD_OUT


def test_variant_with_accumulation_keeps_its_rounds():
    cfg = stage_config('two-rounds', accumulate=2)
    assert cfg.default_hooks.pseudo_label.round_iters == [0, 1200, 1200]
    assert cfg.optim_wrapper.accumulative_counts == 2


def fake_stage(tmp_path, name, miou, pseudo_mious):
    """A finished self-training stage's logs: its last validation in
    MMEngine's scalars.json, each round's pseudo-label marker."""
    work_dir = tmp_path / name
    (work_dir / '20261207_000000' / 'vis_data').mkdir(parents=True)
    with open(work_dir / '20261207_000000/vis_data/scalars.json', 'w') as f:
        f.write(json.dumps(dict(mIoU=miou - 9.0, step=800)) + '\n')
        f.write(json.dumps(dict(mIoU=miou, step=1600)) + '\n')
    for r, pseudo in enumerate(pseudo_mious, 1):
        os.makedirs(round_dir(str(work_dir), r))
        mark_round_complete(round_dir(str(work_dir), r), dict(mIoU=pseudo))
    return SimpleNamespace(
        work_dir=str(work_dir),
        max_iters=1600,
        train_loop=SimpleNamespace(rounds=[0] + [800] * len(pseudo_mious)))


def test_variants_table_per_seed_and_tests(monkeypatch, tmp_path):
    """Seeds 10 and 11: the release's student and each variant's last
    validation, their gains over the control, then each one's paired test
    against the control, and each variant's against the release."""
    other = [(name, iters, pseudo, miou + shift)
             for (name, iters, pseudo, miou), shift in zip(ROWS, (1, 2, -3))]
    results = [
        dict(
            rows=rows,
            variants={
                'tta':
                fake_stage(tmp_path / str(seed), 'tta', miou, [p]),
                'two-rounds':
                fake_stage(tmp_path / str(seed), 'two', miou2, [0.5, p2])
            })
        for rows, seed, miou, p, miou2, p2 in ((ROWS, 10, 50.01, 0.49, 55.01,
                                                0.52), (other, 11, 46.51, 0.47,
                                                        51.51, 0.56))
    ]
    lines = []
    monkeypatch.setattr(demo, 'say', lines.append)
    demo.print_variants_paired(range(10, 12), results)
    rows = [[c.strip() for c in line.split('|')[1:-1]]
            for line in lines[0].splitlines()[2:]]
    assert rows[0] == [
        'seed', 'control', 'release recipe', 'tta', 'two-rounds'
    ]
    assert rows[2] == [
        '10', '43.51', '52.08 (+8.57)', '50.01 (+6.50)', '55.01 (+11.50)'
    ]
    assert rows[3] == [
        '11', '45.51', '49.08 (+3.57)', '46.51 (+1.00)', '51.51 (+6.00)'
    ]
    assert lines[1].startswith('release recipe - control: mean +6.07, std '
                               '3.54 over 2 seeds; wins 2 of 2')
    assert lines[2].startswith('tta - control: mean +3.75')
    assert lines[3].startswith('two-rounds - control: mean +8.75')
    # The last round's pseudo labels: tta's one round, two-rounds' second.
    assert lines[4].startswith('tta: pseudo-label mIoU (last round) 48.00 '
                               '+- 1.00; - release recipe: mean -2.32')
    assert lines[5].startswith('two-rounds: pseudo-label mIoU (last round) '
                               '54.00 +- 2.00; - release recipe: mean +2.68')
