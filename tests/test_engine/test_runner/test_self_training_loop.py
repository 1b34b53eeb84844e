# Copyright (c) mmseg_sb contributors. All rights reserved.
"""One key gives the rounds: the run's length, validation, checkpoints and
schedules follow from the PseudoLabelHook's round_iters."""
import glob
import os.path as osp

import pytest
from mmengine.hooks import CheckpointHook, Hook
from mmengine.runner import Runner

from mmseg_sb.engine.rounds import ROUND_INFO

pytestmark = pytest.mark.slow


class _Probe(Hook):
    """Records, per training iteration, the round on the message hub and
    the learning rate of the first parameter group; counts validations."""
    priority = 'VERY_LOW'

    def __init__(self):
        self.rounds, self.lrs, self.val_at = [], [], []

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.rounds.append(runner.message_hub.get_info(ROUND_INFO))
        self.lrs.append(runner.optim_wrapper.get_lr()['lr'][0])

    def after_val_epoch(self, runner, metrics=None):
        self.val_at.append(runner.iter)


def _leaf(tmp_path, body):
    path = tmp_path / 'leaf.py'
    base = osp.join(
        osp.dirname(__file__), '..', '..', '..',
        'configs/demo/sb_deeplabv3plus_r18_synthetic.py')
    path.write_text(f'_base_ = {osp.abspath(base)!r}\n{body}')
    return str(path)


def test_one_key_gives_three_rounds(semi_runner_cfg, tmp_path):
    leaf = _leaf(
        tmp_path, 'default_hooks = dict(pseudo_label=dict('
        'round_iters=[4, 3, 2]))\n')
    cfg = semi_runner_cfg(
        round_iters=None,
        config=leaf,
        **{'default_hooks.checkpoint.max_keep_ckpts': -1})
    runner = Runner.from_cfg(cfg)
    probe = _Probe()
    runner.register_hook(probe)
    runner.train()

    assert runner.max_iters == 9 and runner.iter == 9
    for scheduler in runner.param_schedulers:
        assert scheduler.round_iters == [4, 3, 2]
    assert probe.rounds == [0] * 4 + [1] * 3 + [2] * 2
    # Poly restarts at 0, 4 and 7: the base lr (teacher) then 0.2x.
    base = cfg.optim_wrapper.optimizer.lr
    starts = [i for i in range(1, 9) if probe.lrs[i] > probe.lrs[i - 1]]
    assert starts == [4, 7]
    assert probe.lrs[0] == pytest.approx(base)
    assert probe.lrs[4] == pytest.approx(0.2 * base)
    assert probe.lrs[7] == pytest.approx(0.2 * base)
    # The demo's interval of 100 lands on no round end: reduced to 1.
    saved = {
        int(osp.basename(p)[5:-4])
        for p in glob.glob(osp.join(cfg.work_dir, 'iter_*.pth'))
    }
    assert {4, 7, 9} <= saved
    assert {4, 7, 9} <= set(probe.val_at)
    assert osp.isfile(
        osp.join(cfg.work_dir, 'pseudo_labels', 'round_2',
                 'round_complete.json'))


def test_intervals_that_land_on_round_ends_are_kept(semi_runner_cfg):
    cfg = semi_runner_cfg(
        round_iters=(4, 2, 2),
        **{
            'train_cfg.val_interval': 4,
            'default_hooks.checkpoint.interval': 6
        })
    runner = Runner.from_cfg(cfg)
    loop = runner.train_loop
    assert (loop.max_iters, loop.val_interval) == (8, 2)
    checkpoint = next(h for h in runner.hooks if isinstance(h, CheckpointHook))
    assert checkpoint.interval == 2
    cfg = semi_runner_cfg(
        round_iters=(4, 4),
        **{
            'train_cfg.val_interval': 2,
            'default_hooks.checkpoint.interval': 4
        })
    runner = Runner.from_cfg(cfg)
    assert runner.train_loop.val_interval == 2
    assert next(h for h in runner.hooks
                if isinstance(h, CheckpointHook)).interval == 4


@pytest.mark.parametrize('overrides,match', [
    ({
        'train_cfg.max_iters': 12
    }, r'train_cfg.max_iters=12 differs .* remove train_cfg.max_iters'),
    ({
        'param_scheduler.0.round_iters': [4, 3]
    }, r'round_iters=\[4, 3\] differ .* remove round_iters'),
])
def test_copies_that_disagree_are_named(semi_runner_cfg, overrides, match):
    cfg = semi_runner_cfg(round_iters=(4, 3, 3), **overrides)
    runner = Runner.from_cfg(cfg)
    with pytest.raises(ValueError, match=match):
        runner.train()


def test_the_loop_needs_the_hook_and_the_hook_the_loop(semi_runner_cfg):
    cfg = semi_runner_cfg(round_iters=(4, 3))
    cfg.default_hooks.pop('pseudo_label')
    with pytest.raises(ValueError, match='needs one PseudoLabelHook'):
        Runner.from_cfg(cfg).train()
    cfg = semi_runner_cfg(round_iters=(4, 3))
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=7)
    with pytest.raises(TypeError, match='SelfTrainingLoop'):
        Runner.from_cfg(cfg).train()
