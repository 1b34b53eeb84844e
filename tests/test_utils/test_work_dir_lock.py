# Copyright (c) mmseg_sb contributors. All rights reserved.
"""A work dir's lock: held by one run at a time, taken over from a run that
no longer runs, never from one that may."""
import json
import logging
import multiprocessing
import os
import os.path as osp
import socket
import subprocess
import sys
from contextlib import contextmanager

import pytest
from mmengine.logging import MMLogger

from mmseg_sb.utils import LOCK_FILE, WorkDirLock
from mmseg_sb.utils.work_dir_lock import _remove_if_unchanged


@pytest.fixture
def live_pid():
    """The process id of a process of this host that runs (``sleep 60``)
    for the test."""
    process = subprocess.Popen(['sleep', '60'])
    yield process.pid
    process.kill()
    process.wait()


@pytest.fixture
def dead_pid():
    """The process id of a process of this host that ran and ended (and was
    reaped)."""
    process = subprocess.Popen(['true'])
    process.wait()
    return process.pid


def write_lock(work_dir, pid, host=None, **fields):
    """Write the lock file of ``work_dir`` as a run ``pid`` of ``host``
    (this host by default) holds it; return its text."""
    holder = dict(
        pid=pid,
        host=host or socket.gethostname(),
        start_time='2026-12-01 09:30:00',
        command='tools/train.py configs/other.py',
        token='theirs',
        **fields)
    return write_text(work_dir, json.dumps(holder))


def write_text(work_dir, text):
    with open(osp.join(work_dir, LOCK_FILE), 'w') as f:
        f.write(text)
    return text


def lock_text(work_dir):
    """The text of ``work_dir``'s lock file, None if there is none."""
    path = osp.join(work_dir, LOCK_FILE)
    if not osp.exists(path):
        return None
    with open(path) as f:
        return f.read()


def holder(work_dir):
    return json.loads(lock_text(work_dir))


@contextmanager
def logged_warnings():
    """The messages of the warnings logged through MMEngine's current
    logger."""
    warnings = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = lambda record: warnings.append(record.getMessage())
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    try:
        yield warnings
    finally:
        logger.removeHandler(handler)


def test_acquire_and_release(tmp_path):
    lock = WorkDirLock(str(tmp_path))
    assert not lock.is_held
    lock.acquire()
    assert lock.is_held and lock.path == osp.join(str(tmp_path), LOCK_FILE)
    written = holder(tmp_path)
    assert written['pid'] == os.getpid()
    assert written['host'] == socket.gethostname()
    assert written['command'].split()[0] == sys.argv[0]
    assert written['start_time'][:2] == '20'
    lock.acquire()  # held already: nothing changes
    assert holder(tmp_path) == written
    lock.release()
    assert not lock.is_held
    assert os.listdir(tmp_path) == []  # no temporary file is left either
    lock.release()  # released already: nothing happens


def test_live_holder_of_this_host_stops_the_run(tmp_path, live_pid):
    theirs = write_lock(tmp_path, live_pid)
    with pytest.raises(RuntimeError) as error:
        WorkDirLock(str(tmp_path)).acquire()
    message = str(error.value)
    for fact in (str(tmp_path), f'process {live_pid}', socket.gethostname(),
                 '2026-12-01 09:30:00', 'tools/train.py configs/other.py',
                 '--work-dir', osp.join(str(tmp_path), LOCK_FILE)):
        assert fact in message
    assert 'another host' not in message
    assert lock_text(tmp_path) == theirs
    assert os.listdir(tmp_path) == [LOCK_FILE]


def test_holder_of_another_host_stops_the_run(tmp_path, dead_pid):
    # Its process id means nothing here, even that of a process that ended.
    theirs = write_lock(tmp_path, dead_pid, host='gpu-node-7')
    with pytest.raises(RuntimeError, match='another host') as error:
        WorkDirLock(str(tmp_path)).acquire()
    assert f'process {dead_pid} on host gpu-node-7' in str(error.value)
    assert lock_text(tmp_path) == theirs


def test_lock_of_a_process_that_ended_is_taken_over(tmp_path, dead_pid):
    write_lock(tmp_path, dead_pid)
    lock = WorkDirLock(str(tmp_path))
    with logged_warnings() as warnings:
        lock.acquire()
    assert lock.is_held and holder(tmp_path)['pid'] == os.getpid()
    assert len(warnings) == 1
    assert f'process {dead_pid}' in warnings[0]
    assert 'no longer runs' in warnings[0]
    lock.release()
    assert lock_text(tmp_path) is None


def test_lock_of_this_process_is_taken_over_silently(tmp_path):
    # An earlier run of this process raised without releasing its lock.
    earlier = WorkDirLock(str(tmp_path))
    earlier.acquire()
    lock = WorkDirLock(str(tmp_path))
    with logged_warnings() as warnings:
        lock.acquire()
    assert warnings == []
    ours = lock_text(tmp_path)
    assert holder(tmp_path)['pid'] == os.getpid()
    # The earlier holder's release leaves the new holder's lock alone.
    earlier.release()
    del earlier
    assert lock_text(tmp_path) == ours
    lock.release()
    assert lock_text(tmp_path) is None


@pytest.mark.parametrize(
    'content', [
        b'', b'{"pid": 12', b'[1, 2]', b'{"pid": "12", "host": "h"}',
        b'{"pid": 0, "host": "h"}', b'{"pid": 12}', b'\xff\xfe{'
    ],
    ids=[
        'empty', 'truncated', 'not a dict', 'pid not an int', 'pid 0',
        'no host', 'not utf-8'
    ])
def test_a_file_that_is_not_a_lock_is_taken_over(tmp_path, content):
    with open(osp.join(tmp_path, LOCK_FILE), 'wb') as f:
        f.write(content)
    lock = WorkDirLock(str(tmp_path))
    with logged_warnings() as warnings:
        lock.acquire()
    assert holder(tmp_path)['pid'] == os.getpid()
    assert len(warnings) == 1 and 'empty or unreadable' in warnings[0]
    lock.release()


def test_release_removes_only_its_own_lock(tmp_path, live_pid):
    lock = WorkDirLock(str(tmp_path))
    lock.acquire()
    # Someone deleted the lock file by hand and another run locked.
    os.remove(osp.join(tmp_path, LOCK_FILE))
    theirs = write_lock(tmp_path, live_pid)
    lock.release()
    assert lock_text(tmp_path) == theirs
    # A lock that was never acquired releases nothing.
    WorkDirLock(str(tmp_path)).release()
    assert lock_text(tmp_path) == theirs
    assert os.listdir(tmp_path) == [LOCK_FILE]


def test_context_manager_releases_on_error(tmp_path):
    with pytest.raises(KeyError):
        with WorkDirLock(str(tmp_path)) as lock:
            assert lock.is_held
            assert holder(tmp_path)['pid'] == os.getpid()
            raise KeyError('training failed')
    assert not lock.is_held and lock_text(tmp_path) is None


def test_stale_lock_replaced_meanwhile_is_put_back(tmp_path, live_pid):
    # A run judged the lock stale, but another run took it over before the
    # first removed it: the new lock stays.
    theirs = write_lock(tmp_path, live_pid)
    _remove_if_unchanged(osp.join(tmp_path, LOCK_FILE), 'the stale text')
    assert lock_text(tmp_path) == theirs
    assert os.listdir(tmp_path) == [LOCK_FILE]
    _remove_if_unchanged(osp.join(tmp_path, LOCK_FILE), theirs)
    assert os.listdir(tmp_path) == []


def _race(work_dir, start, done, results):
    """One of two runs taking over a stale lock at once: report whether it
    locked, then hold the lock until the other one has reported."""
    lock = WorkDirLock(work_dir)
    start.wait()
    try:
        lock.acquire()
        results.put((os.getpid(), 'locked'))
    except RuntimeError as e:
        results.put((os.getpid(), str(e)))
    done.wait()
    lock.release()


def test_two_runs_taking_over_a_stale_lock_at_once(tmp_path, dead_pid):
    write_lock(tmp_path, dead_pid)
    context = multiprocessing.get_context('fork')
    start, done, results = context.Event(), context.Event(), context.Queue()
    runs = [
        context.Process(
            target=_race, args=(str(tmp_path), start, done, results))
        for _ in range(2)
    ]
    for run in runs:
        run.start()
    start.set()
    outcomes = dict(results.get(timeout=30) for _ in runs)
    done.set()
    for run in runs:
        run.join(timeout=30)
    winners = [pid for pid, outcome in outcomes.items() if outcome == 'locked']
    assert len(winners) == 1
    loser, = set(outcomes) - set(winners)
    assert f'process {winners[0]} on host' in outcomes[loser]
    assert lock_text(tmp_path) is None


@pytest.mark.slow
def test_lock_is_released_when_the_process_exits(tmp_path):
    # A run that raises past its release (Runner.train calls no hook then)
    # frees the lock as its process exits.
    script = ('import sys\n'
              'from mmseg_sb.utils.work_dir_lock import WorkDirLock\n'
              'lock = WorkDirLock(sys.argv[1])\n'
              'lock.acquire()\n'
              'print(lock.path, flush=True)\n'
              'raise SystemExit("training failed")\n')
    run = subprocess.run([sys.executable, '-c', script,
                          str(tmp_path)],
                         capture_output=True,
                         text=True,
                         timeout=120)
    assert run.returncode == 1 and 'training failed' in run.stderr
    assert run.stdout.strip() == osp.join(str(tmp_path), LOCK_FILE)
    assert os.listdir(tmp_path) == []
