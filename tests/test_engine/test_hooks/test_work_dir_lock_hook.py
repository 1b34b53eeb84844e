# Copyright (c) mmseg_sb contributors. All rights reserved.
"""A second training run in a work dir stops before it writes there; a run
of ``Runner.test`` is not stopped; a finished run leaves no lock."""
import itertools
import json
import logging
import os
import os.path as osp
import socket
import subprocess

import pytest
import torch
import torch.nn as nn
from mmengine.evaluator import BaseMetric
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch.utils.data import Dataset

from mmseg.registry import HOOKS
from mmseg_sb.utils import LOCK_FILE

#: Every test here trains through a Runner.
pytestmark = pytest.mark.slow

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
    """8 fixed random points, labeled with the sum of their coordinates."""

    metainfo = dict(name='toy')

    def __init__(self):
        self.inputs = torch.randn(
            8, 2, generator=torch.Generator().manual_seed(0))

    def __len__(self):
        return len(self.inputs)

    def __getitem__(self, i):
        return dict(inputs=self.inputs[i], data_samples=self.inputs[i].sum())


class CountingMetric(BaseMetric):
    """The number of samples evaluated."""

    default_prefix = 'toy'

    def process(self, data_batch, data_samples):
        self.results.append(len(data_samples))

    def compute_metrics(self, results):
        return dict(samples=sum(results))


@HOOKS.register_module()
class LockProbeHook(Hook):
    """Records the iterations trained and the lock file's holder at each;
    raises at iteration ``fail_at`` (a run that crashes)."""

    priority = 'LOWEST'

    def __init__(self, fail_at=None):
        self.fail_at = fail_at
        self.iters = []
        self.holders = []

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter == self.fail_at:
            raise KeyError('training failed')
        self.iters.append(runner.iter)
        self.holders.append(read_holder(runner.work_dir))


def build_runner(work_dir, probe=None, max_iters=4, resume=False):
    """A Runner of :class:`ToyModel` with :class:`WorkDirLockHook`, saving a
    checkpoint every 2 iterations (``AtomicCheckpointHook``); it can test
    too."""
    loader = dict(
        dataset=ToyDataset(),
        sampler=dict(type='InfiniteSampler', shuffle=True),
        batch_size=2,
        num_workers=0)
    return Runner(
        model=ToyModel(),
        work_dir=str(work_dir),
        experiment_name=f'toy_{next(_runner_ids)}',
        train_dataloader=loader,
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.05)),
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        test_dataloader=dict(loader, sampler=dict(type='DefaultSampler')),
        test_cfg=dict(),
        test_evaluator=[CountingMetric()],
        default_hooks=dict(
            checkpoint=dict(
                type='AtomicCheckpointHook', by_epoch=False, interval=2)),
        custom_hooks=[dict(type='WorkDirLockHook')] +
        ([probe] if probe else []),
        resume=resume,
        randomness=dict(seed=0),
        default_scope='mmseg',
        log_level='WARNING')


@pytest.fixture
def other_run():
    """A process of this host (``sleep 60``) that runs until the test ends
    it (``kill``, ``wait``) or ends."""
    process = subprocess.Popen(['sleep', '60'])
    yield process
    process.kill()
    process.wait()


def lock_as(work_dir, pid):
    """Lock ``work_dir`` as a training run ``pid`` of this host does."""
    with open(osp.join(work_dir, LOCK_FILE), 'w') as f:
        json.dump(
            dict(
                pid=pid,
                host=socket.gethostname(),
                start_time='2026-12-01 09:30:00',
                command='tools/train.py configs/other.py',
                token='theirs'), f)


def read_holder(work_dir):
    """The holder in ``work_dir``'s lock file, None if it has none."""
    path = osp.join(work_dir, LOCK_FILE)
    if not osp.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def checkpoints(work_dir):
    return sorted(
        f for f in os.listdir(work_dir)
        if '.pth' in f or f == 'last_checkpoint')


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


def test_run_holds_the_lock_while_it_trains(tmp_path):
    probe = LockProbeHook()
    build_runner(tmp_path, probe).train()
    assert probe.iters == [0, 1, 2, 3]
    assert all(h['pid'] == os.getpid() for h in probe.holders)
    assert read_holder(tmp_path) is None  # released at the end
    assert checkpoints(tmp_path) == [
        'iter_2.pth', 'iter_4.pth', 'last_checkpoint'
    ]


def test_second_run_stops_before_it_writes(tmp_path, other_run):
    # Another training run holds the work dir and is saving iter_2.pth; a
    # second run asked to resume stops before it resumes, before iteration
    # 1, and before AtomicCheckpointHook removes the other run's temporary
    # checkpoint as a leftover.
    live_pid = other_run.pid
    lock_as(tmp_path, live_pid)
    saving = osp.join(tmp_path, 'iter_2.pth.tmp')
    open(saving, 'wb').close()
    probe = LockProbeHook()
    runner = build_runner(tmp_path, probe, resume=True)
    with pytest.raises(RuntimeError, match=f'process {live_pid} on host'):
        runner.train()
    assert probe.iters == []
    assert checkpoints(tmp_path) == ['iter_2.pth.tmp']
    assert read_holder(tmp_path)['pid'] == live_pid
    # Once that run is gone (killed: its lock is left), a run takes over its
    # lock, with a warning, and trains.
    other_run.kill()
    other_run.wait()
    probe = LockProbeHook()
    warnings = train_logging_warnings(build_runner(tmp_path, probe))
    assert any(f'locked by process {live_pid}' in w for w in warnings)
    assert probe.iters == [0, 1, 2, 3]
    assert read_holder(tmp_path) is None


def test_test_run_is_not_stopped_by_a_training_run(tmp_path, other_run):
    build_runner(tmp_path).train()
    lock_as(tmp_path, other_run.pid)
    runner = build_runner(tmp_path)
    runner.load_checkpoint(osp.join(tmp_path, 'iter_4.pth'))
    assert runner.test() == {'toy/samples': 8}
    assert read_holder(tmp_path)['pid'] == other_run.pid


def test_retry_in_the_same_process_after_a_crash(tmp_path):
    # Runner.train calls no hook when training raises: the lock stays with
    # this process, and the next run of the process takes it over.
    with pytest.raises(KeyError, match='training failed'):
        build_runner(tmp_path, LockProbeHook(fail_at=1)).train()
    assert read_holder(tmp_path)['pid'] == os.getpid()
    probe = LockProbeHook()
    warnings = train_logging_warnings(build_runner(tmp_path, probe))
    assert not any('lock' in w for w in warnings)
    assert probe.iters == [0, 1, 2, 3]
    assert read_holder(tmp_path) is None


def _train_on_rank(rank, world, init_file, work_dir, results):
    """One rank of a two-process training run (gloo) in ``work_dir``; report
    its error or the iterations it trained. MMEngine's pytorch launcher
    needs CUDA, so the process group is made here and the runner, built with
    launcher='none', finds it through mmengine.dist."""
    import torch.distributed as dist

    import mmseg_sb  # noqa: F401
    dist.init_process_group(
        'gloo', init_method=f'file://{init_file}', rank=rank, world_size=world)
    try:
        probe = LockProbeHook()
        try:
            build_runner(work_dir, probe).train()
        except RuntimeError as e:
            results[rank] = str(e)
        else:
            results[rank] = (os.getpid(), probe.iters, probe.holders)
    finally:
        dist.destroy_process_group()


def test_every_rank_stops(tmp_path, other_run):
    import torch.multiprocessing as mp
    lock_as(tmp_path, other_run.pid)
    results = mp.Manager().dict()
    # Two runs: in the locked work dir, then once its holder is gone.
    for init_file in ('init_locked', 'init_free'):
        mp.spawn(
            _train_on_rank,
            args=(2, str(tmp_path / init_file), str(tmp_path), results),
            nprocs=2)
        if init_file == 'init_locked':
            errors = dict(results)
            other_run.kill()
            other_run.wait()
    # Each rank raised rank 0's error rather than training alone.
    assert errors[0] == errors[1]
    assert f'process {other_run.pid} on host' in errors[0]
    # Rank 0 took the lock over for both ranks, and released it.
    rank_0_pid = results[0][0]
    for rank in (0, 1):
        pid, iters, holders = results[rank]
        assert iters == [0, 1, 2, 3]
        assert [h['pid'] for h in holders] == [rank_0_pid] * 4
    assert read_holder(tmp_path) is None
