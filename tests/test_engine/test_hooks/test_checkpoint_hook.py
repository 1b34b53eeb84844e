# Copyright (c) mmseg_sb contributors. All rights reserved.
"""A kill during a checkpoint save leaves a complete checkpoint to resume from;
a bad ``last_checkpoint`` falls back to the newest complete checkpoint."""
import itertools
import logging
import os
import os.path as osp
from contextlib import contextmanager
from unittest import mock

import pytest
import torch
import torch.nn as nn
from mmengine.evaluator import BaseMetric
from mmengine.fileio import LocalBackend
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch.utils.data import Dataset

from mmseg.registry import HOOKS
from mmseg_sb.utils import COMPLETE_MARKER, PSEUDO_LABEL_DIR

#: Every test here trains through a Runner.
pytestmark = pytest.mark.slow

#: MMEngine's file naming the checkpoint to resume from.
POINTER = 'last_checkpoint'
_runner_ids = itertools.count()


class ToyModel(BaseModel):
    """A linear regression on 2 inputs, mean squared error."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        outputs = self.linear(torch.stack(inputs)).squeeze(1)
        if mode == 'loss':
            targets = torch.stack(data_samples)
            return dict(loss=(outputs - targets).pow(2).mean())
        return outputs


class ToyDataset(Dataset):
    """12 fixed random points, labeled with the sum of their coordinates."""

    metainfo = dict(name='toy')

    def __init__(self):
        self.inputs = torch.randn(
            12, 2, generator=torch.Generator().manual_seed(0))

    def __len__(self):
        return len(self.inputs)

    def __getitem__(self, i):
        return dict(inputs=self.inputs[i], data_samples=self.inputs[i].sum())


class CountingMetric(BaseMetric):
    """A score that improves at every evaluation: each one saves a new
    best checkpoint and removes the previous one."""

    default_prefix = 'toy'

    def __init__(self):
        super().__init__()
        self.evaluations = 0

    def process(self, data_batch, data_samples):
        self.results.append(len(data_samples))

    def compute_metrics(self, results):
        self.evaluations += 1
        return dict(score=self.evaluations)


@HOOKS.register_module()
class ResumeProbeHook(Hook):
    """Records the iterations trained and, when training starts (after
    ``load_or_resume``), the checkpoint files of the work dir."""

    priority = 'LOWEST'

    def __init__(self):
        self.iters = []
        self.files_at_start = None

    def before_train(self, runner):
        self.files_at_start = checkpoint_files(runner.work_dir)

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.iters.append(runner.iter)


class Killed(Exception):
    """A kill -9 while a file is written."""


@contextmanager
def killed_while_writing(name):
    """Write only the first half of the next file whose name starts with
    ``name``, then stop the run (as a kill would, with no cleanup)."""
    put = LocalBackend.put

    def half_put(backend, obj, filepath):
        if osp.basename(filepath).startswith(name):
            with open(filepath, 'wb') as f:
                f.write(obj[:len(obj) // 2])
            raise Killed(filepath)
        put(backend, obj, filepath)

    with mock.patch.object(LocalBackend, 'put', half_put), \
            pytest.raises(Killed):
        yield


@contextmanager
def recording_writes():
    """The names of the files written through MMEngine's local backend."""
    written = []
    put = LocalBackend.put

    def recorded(backend, obj, filepath):
        written.append(osp.basename(filepath))
        put(backend, obj, filepath)

    with mock.patch.object(LocalBackend, 'put', recorded):
        yield written


def build_runner(work_dir,
                 max_iters,
                 resume=False,
                 hook='AtomicCheckpointHook',
                 probe=None,
                 val=False,
                 **checkpoint):
    """A Runner of :class:`ToyModel` saving every 2 iterations with
    ``hook``."""
    checkpoint = dict(type=hook, by_epoch=False, interval=2, **checkpoint)
    loader = dict(
        dataset=ToyDataset(),
        sampler=dict(type='InfiniteSampler', shuffle=True),
        batch_size=3,
        num_workers=0)
    evaluation = dict(
        val_dataloader=dict(loader, sampler=dict(type='DefaultSampler')),
        val_cfg=dict(),
        val_evaluator=[CountingMetric()]) if val else {}
    return Runner(
        model=ToyModel(),
        work_dir=str(work_dir),
        experiment_name=f'toy_{next(_runner_ids)}',
        train_dataloader=loader,
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9)),
        param_scheduler=dict(
            type='MultiStepLR', milestones=[3], by_epoch=False),
        train_cfg=dict(by_epoch=False, max_iters=max_iters, val_interval=2),
        default_hooks=dict(checkpoint=checkpoint),
        custom_hooks=[probe] if probe else None,
        resume=resume,
        randomness=dict(seed=0),
        default_scope='mmseg',
        log_level='WARNING',
        **evaluation)


def checkpoint_files(work_dir):
    """The checkpoints, temporary files and pointer in ``work_dir``."""
    return sorted(
        f for f in os.listdir(work_dir)
        if '.pth' in f or f.startswith(POINTER))


def pointed(work_dir):
    with open(osp.join(work_dir, POINTER)) as f:
        return f.read()


def saved_iter(path):
    """The iteration of a checkpoint, loaded in full by torch."""
    return torch.load(path, weights_only=False)['meta']['iter']


def train_logging_warnings(runner):
    """Train ``runner``; return the warnings it logged."""
    warnings = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = lambda record: warnings.append(record.getMessage())
    runner.logger.addHandler(handler)
    try:
        runner.train()
    finally:
        runner.logger.removeHandler(handler)
    return warnings


def test_kill_during_a_save_keeps_the_previous_checkpoint(tmp_path):
    runner = build_runner(tmp_path, max_iters=6, max_keep_ckpts=1)
    with killed_while_writing('iter_4'):
        runner.train()
    # The kill left half of the new file under a temporary name; the
    # previous checkpoint is complete and still named by last_checkpoint.
    assert checkpoint_files(tmp_path) == [
        'iter_2.pth', 'iter_4.pth.tmp', POINTER
    ]
    assert pointed(tmp_path) == str(tmp_path / 'iter_2.pth')
    assert saved_iter(tmp_path / 'iter_2.pth') == 2

    probe = ResumeProbeHook()
    runner = build_runner(
        tmp_path, max_iters=6, max_keep_ckpts=1, resume=True, probe=probe)
    assert not [
        w
        for w in train_logging_warnings(runner) if 'AtomicCheckpointHook' in w
    ]  # last_checkpoint was right
    assert probe.files_at_start == ['iter_2.pth', POINTER]  # no leftover
    assert probe.iters == [2, 3, 4, 5]
    assert checkpoint_files(tmp_path) == ['iter_6.pth', POINTER]
    assert pointed(tmp_path) == str(tmp_path / 'iter_6.pth')
    assert saved_iter(tmp_path / 'iter_6.pth') == 6


def test_the_same_kill_with_mmengine_hook_loses_every_checkpoint(tmp_path):
    # What AtomicCheckpointHook fixes: CheckpointHook removes iter_2.pth
    # before it writes iter_4.pth in place.
    runner = build_runner(
        tmp_path, max_iters=6, hook='CheckpointHook', max_keep_ckpts=1)
    with killed_while_writing('iter_4'):
        runner.train()
    assert checkpoint_files(tmp_path) == ['iter_4.pth', POINTER]
    assert pointed(tmp_path) == str(tmp_path / 'iter_2.pth')
    with pytest.raises(RuntimeError):  # torch: not a zip archive
        saved_iter(tmp_path / 'iter_4.pth')


@pytest.mark.parametrize('hook,always_complete',
                         [('AtomicCheckpointHook', True),
                          ('CheckpointHook', False)])
def test_a_complete_checkpoint_exists_at_every_moment(tmp_path, hook,
                                                      always_complete):
    """Before every file written or removed during a run that keeps one
    checkpoint, last_checkpoint names a checkpoint that loads."""
    moments = []

    def loads():
        try:
            return saved_iter(pointed(tmp_path)) > 0
        except (OSError, RuntimeError):
            return False

    def checked(method):

        def call(backend, *args, **kwargs):
            if osp.exists(tmp_path / POINTER):  # after the first save
                moments.append(loads())
            return method(backend, *args, **kwargs)

        return call

    runner = build_runner(tmp_path, max_iters=8, hook=hook, max_keep_ckpts=1)
    with mock.patch.object(LocalBackend, 'put', checked(LocalBackend.put)), \
            mock.patch.object(LocalBackend, 'remove',
                              checked(LocalBackend.remove)):
        runner.train()
    assert len(moments) >= 6  # 3 saves and 3 removals after the first
    assert all(moments) == always_complete
    assert checkpoint_files(tmp_path) == ['iter_8.pth', POINTER]


def complete_run_then_bad_pointer(work_dir, bad):
    """Save iter_2 and iter_4, then spoil last_checkpoint as ``bad`` says.

    Returns:
        tuple: The file last_checkpoint names ('' if none) and the
        checkpoint a resume should fall back to.
    """
    build_runner(work_dir, max_iters=4).train()
    pointer = osp.join(work_dir, POINTER)
    iter_4 = osp.join(work_dir, 'iter_4.pth')
    if bad == 'empty':
        open(pointer, 'w').close()
    elif bad == 'undecodable':
        with open(pointer, 'wb') as f:
            f.write(b'\xff\xfe\x80')
    elif bad == 'missing':
        with open(pointer, 'w') as f:
            f.write(osp.join(work_dir, 'iter_9.pth'))
        return osp.join(work_dir, 'iter_9.pth'), iter_4
    elif bad == 'truncated':
        with open(iter_4, 'rb+') as f:
            f.truncate(os.path.getsize(iter_4) // 2)
        return iter_4, osp.join(work_dir, 'iter_2.pth')
    return '', iter_4


@pytest.mark.parametrize('bad',
                         ['empty', 'undecodable', 'missing', 'truncated'])
def test_bad_last_checkpoint_falls_back_to_newest_complete_one(tmp_path, bad):
    named, fallback = complete_run_then_bad_pointer(str(tmp_path), bad)
    probe = ResumeProbeHook()
    runner = build_runner(tmp_path, max_iters=6, resume=True, probe=probe)
    warnings = train_logging_warnings(runner)
    repaired = [w for w in warnings if 'AtomicCheckpointHook' in w]
    assert len(repaired) == 1
    assert str(tmp_path / POINTER) in repaired[0]
    assert named in repaired[0]
    assert f'resuming from {fallback} instead' in repaired[0]
    start = saved_iter(fallback)
    assert probe.iters == list(range(start, 6))
    assert saved_iter(pointed(tmp_path)) == 6


def test_no_complete_checkpoint_starts_from_scratch(tmp_path):
    build_runner(tmp_path, max_iters=2).train()
    with open(tmp_path / 'iter_2.pth', 'rb+') as f:
        f.truncate(100)
    probe = ResumeProbeHook()
    runner = build_runner(tmp_path, max_iters=2, resume=True, probe=probe)
    warnings = train_logging_warnings(runner)
    assert any('no complete checkpoint' in w and 'from scratch' in w
               for w in warnings)
    assert probe.iters == [0, 1]
    assert saved_iter(pointed(tmp_path)) == 2


def test_fallback_looks_in_out_dir(tmp_path):
    """With ``out_dir``, checkpoints go to ``out_dir/<work dir name>`` and
    last_checkpoint stays in the work dir."""
    work_dir, out_dir = tmp_path / 'run', tmp_path / 'out'
    build_runner(work_dir, max_iters=4, out_dir=str(out_dir)).train()
    assert pointed(work_dir) == str(out_dir / 'run' / 'iter_4.pth')
    open(work_dir / POINTER, 'w').close()
    probe = ResumeProbeHook()
    runner = build_runner(
        work_dir, max_iters=6, resume=True, probe=probe, out_dir=str(out_dir))
    assert any(
        str(out_dir / 'run' / 'iter_4.pth') in w
        for w in train_logging_warnings(runner))
    assert probe.iters == [4, 5]


def test_a_good_last_checkpoint_is_left_alone(tmp_path):
    build_runner(tmp_path, max_iters=4).train()
    # A newer, truncated file does not count: last_checkpoint wins.
    with open(tmp_path / 'iter_6.pth', 'wb') as f:
        f.write(b'PK')
    probe = ResumeProbeHook()
    runner = build_runner(tmp_path, max_iters=6, resume=True, probe=probe)
    assert not [
        w
        for w in train_logging_warnings(runner) if 'AtomicCheckpointHook' in w
    ]
    assert probe.iters == [4, 5]


def test_checkpoints_hold_what_mmengine_hook_saves(tmp_path):
    saved = {}
    for hook in ('CheckpointHook', 'AtomicCheckpointHook'):
        work_dir = tmp_path / hook
        build_runner(
            work_dir, max_iters=6, hook=hook, max_keep_ckpts=2).train()
        assert checkpoint_files(work_dir) == [
            'iter_4.pth', 'iter_6.pth', POINTER
        ]
        saved[hook] = torch.load(work_dir / 'iter_6.pth', weights_only=False)
    ours, theirs = saved['AtomicCheckpointHook'], saved['CheckpointHook']
    assert ours.keys() == theirs.keys()
    assert ours['state_dict'].keys() == theirs['state_dict'].keys()
    for key, value in theirs['state_dict'].items():
        assert torch.equal(ours['state_dict'][key], value), key
    states = [c['optimizer']['state'] for c in (ours, theirs)]
    assert states[0].keys() == states[1].keys()
    for key, value in states[1].items():
        assert torch.equal(states[0][key]['momentum_buffer'],
                           value['momentum_buffer'])
    assert ours['param_schedulers'] == theirs['param_schedulers']
    for key in ('epoch', 'iter', 'seed'):
        assert ours['meta'][key] == theirs['meta'][key]
    info = [c['message_hub']['runtime_info'] for c in (ours, theirs)]
    assert info[0]['keep_ckpt_ids'] == info[1]['keep_ckpt_ids'] == [4, 6]
    assert [osp.basename(i['last_ckpt']) for i in info] == ['iter_6.pth'] * 2


def test_every_file_is_written_under_a_temporary_name(tmp_path):
    runner = build_runner(
        tmp_path, max_iters=6, val=True, save_best='toy/score', rule='greater')
    with recording_writes() as written:
        runner.train()
    # A checkpoint and a new best one every 2 iterations, and the
    # checkpoint again with the new best's name in its message hub.
    assert written == [
        f'{name}.tmp' for step in (2, 4, 6)
        for name in (f'iter_{step}.pth', f'best_toy_score_iter_{step}.pth',
                     f'iter_{step}.pth')
    ]
    assert checkpoint_files(tmp_path) == [
        'best_toy_score_iter_6.pth', 'iter_2.pth', 'iter_4.pth', 'iter_6.pth',
        POINTER
    ]
    best = torch.load(
        tmp_path / 'best_toy_score_iter_6.pth', weights_only=False)
    assert best['meta']['iter'] == 6
    last = torch.load(tmp_path / 'iter_6.pth', weights_only=False)
    assert last['message_hub']['runtime_info']['best_ckpt'] == str(
        tmp_path / 'best_toy_score_iter_6.pth')


def test_file_client_args_fall_back_to_mmengine_saves(tmp_path):
    runner = build_runner(
        tmp_path, max_iters=2, file_client_args=dict(backend='disk'))
    with recording_writes() as written:
        runner.train()
    assert written == ['iter_2.pth']
    assert pointed(tmp_path) == str(tmp_path / 'iter_2.pth')


def test_self_training_config_resumes_after_a_kill(semi_runner_cfg, tmp_path):
    """The project's configs use the hook: a self-training run (the demo
    config) killed while saving at the end of its teacher round resumes
    from the previous checkpoint, then labels and trains its student."""
    work_dir = str(tmp_path / 'semi')
    cfg = semi_runner_cfg(
        round_iters=(2, 2),
        work_dir=work_dir,
        **{
            'default_hooks.checkpoint.interval': 1,
            'default_hooks.checkpoint.max_keep_ckpts': 1
        })
    with killed_while_writing('iter_2'):
        Runner.from_cfg(cfg).train()
    assert pointed(work_dir) == osp.join(work_dir, 'iter_1.pth')
    cfg.resume = True
    cfg.custom_hooks.append(dict(type='ResumeProbeHook'))
    runner = Runner.from_cfg(cfg)
    runner.train()
    probe = next(h for h in runner.hooks if isinstance(h, ResumeProbeHook))
    assert probe.files_at_start == ['iter_1.pth', POINTER]
    assert probe.iters == [1, 2, 3]
    assert checkpoint_files(work_dir) == ['iter_4.pth', POINTER]
    assert saved_iter(osp.join(work_dir, 'iter_4.pth')) == 4
    assert osp.isfile(
        osp.join(work_dir, PSEUDO_LABEL_DIR, 'round_1', COMPLETE_MARKER))


def test_resume_past_the_configured_end_is_refused(tmp_path):
    """A finished run of 4 iterations resumed by a config of 2 used to exit
    at once without a word (issue 24: rounds [3, 6] resumed as [3, 2])."""
    build_runner(tmp_path, 4).train()
    probe = ResumeProbeHook()
    with pytest.raises(
            ValueError,
            match='iteration 4, past the end of the '
            r'configured run \(2 iterations\)'):
        build_runner(tmp_path, 2, resume=True, probe=probe).train()
    assert probe.iters == [] and probe.files_at_start is None
    at_end = build_runner(tmp_path, 4, resume=True)
    assert any('nothing is left to train' in w
               for w in train_logging_warnings(at_end))


def test_resume_with_another_class_count_is_refused(semi_runner_cfg, tmp_path):
    """Resuming with another num_classes used to warn, then fail in the
    loss (IndexError: Target 10 is out of bounds)."""
    work_dir = str(tmp_path / 'semi')
    Runner.from_cfg(semi_runner_cfg(round_iters=(2, 2),
                                    work_dir=work_dir)).train()
    cfg = semi_runner_cfg(
        round_iters=(2, 4),
        work_dir=work_dir,
        resume=True,
        **{'model.decode_head.num_classes': 10})
    with pytest.raises(
            ValueError,
            match=r'conv_seg.weight: checkpoint '
            r'\(19, .*model \(10, .*num_classes'):
        Runner.from_cfg(cfg).train()
