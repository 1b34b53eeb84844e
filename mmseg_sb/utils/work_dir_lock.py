# Copyright (c) mmseg_sb contributors. All rights reserved.
"""One training run per work dir at a time: the work dir's lock file.

The lock file (:data:`LOCK_FILE` in the work dir) holds, as JSON, who holds
it: the process id, the host name, the start time and the command line of
the run, and a token that tells this acquisition apart from any other.
"""
import json
import logging
import os
import os.path as osp
import shlex
import socket
import sys
import uuid
import weakref
from datetime import datetime
from typing import Optional

from mmengine.logging import print_log

#: The lock file in a work dir, present while a training run uses it.
LOCK_FILE = '.lock'
#: Suffix of a lock file while it is written, before it is linked into place.
TMP_SUFFIX = '.tmp'
#: Suffix of a lock file judged stale, renamed aside before it is removed.
STALE_SUFFIX = '.stale'
#: Tries to create the lock file, each after removing a stale one.
MAX_ATTEMPTS = 5


class WorkDirLock:
    """The lock of a work dir, held by one run at a time.

    :meth:`acquire` creates the lock file (:data:`LOCK_FILE` in the work
    dir) atomically: a complete file is linked into place, so that another
    run never reads a partial one. If the lock file exists, its holder
    decides:

    - this process (same host and process id: an earlier run in this Python
      process that raised): the lock is taken over silently;
    - a process of this host that no longer runs (killed, crashed): the lock
      is taken over with a warning naming it; so is an empty or unreadable
      lock file;
    - a process of this host that still runs, or a process of another host
      (whether it still runs cannot be checked from here): ``RuntimeError``
      naming the holder and the fixes.

    A stale lock file is renamed aside and removed only if it is still the
    one judged stale, so of two runs that start at once on a stale lock, one
    takes it over and the other stops.

    The lock is released by :meth:`release` (or on leaving a ``with``
    block), which removes the lock file only if it is still this object's.
    A run that raises past its release frees the lock when the process
    exits or the object is garbage collected; a killed run leaves its lock
    file, which the next run of the same host takes over. On Windows,
    whether a process runs is not checked (``os.kill`` would end it): a
    lock left there by a killed run has to be deleted by hand.

    Examples:
        >>> with WorkDirLock(work_dir):
        ...     runner.train()

    Args:
        work_dir (str): The work dir to lock.
    """

    def __init__(self, work_dir: str) -> None:
        self.work_dir = work_dir
        self.path = osp.join(work_dir, LOCK_FILE)
        self._release: Optional[weakref.finalize] = None

    @property
    def is_held(self) -> bool:
        """Whether this object holds the lock (acquired, not released)."""
        return self._release is not None and self._release.alive

    def acquire(self) -> None:
        """Create the lock file, taking over a stale one.

        Creates the work dir if it does not exist. Acquiring a lock this
        object holds does nothing.

        Raises:
            RuntimeError: If another process holds the lock and runs on this
                host, or runs on another host (where it cannot be checked).
        """
        if self.is_held:
            return
        os.makedirs(self.work_dir, exist_ok=True)
        record = json.dumps(_holder_info(), indent=2)
        for _ in range(MAX_ATTEMPTS):
            if _create_exclusively(self.path, record):
                self._release = weakref.finalize(self, _remove_if_unchanged,
                                                 self.path, record)
                return
            text = _read_text(self.path)
            if text is None:  # released meanwhile
                continue
            warning = self._check_takeover(_parse_holder(text))
            if warning is not None:
                print_log(warning, logger='current', level=logging.WARNING)
            _remove_if_unchanged(self.path, text)
        raise RuntimeError(
            f'Could not lock the work dir {self.work_dir}: its lock file '
            f'{self.path} changed {MAX_ATTEMPTS} times while this run tried '
            'to create it; other runs are starting in it.')

    def release(self) -> None:
        """Remove the lock file if it is still this object's (not taken
        over since); do nothing if this object does not hold the lock."""
        if self._release is not None:
            self._release()  # runs once
            self._release = None

    def __enter__(self) -> 'WorkDirLock':
        self.acquire()
        return self

    def __exit__(self, *exc_info) -> None:
        self.release()

    def _check_takeover(self, holder: Optional[dict]) -> Optional[str]:
        """Check that the lock of ``holder`` may be taken over.

        Args:
            holder (dict, optional): The lock file's holder
                (:func:`_holder_info`); None if the file is not a lock.

        Returns:
            str, optional: The warning to log on taking it over, or None to
            take it over silently (this process holds it).

        Raises:
            RuntimeError: If the holder is another process that runs on
                this host, or a process of another host.
        """
        if holder is None:
            return (f'The lock file {self.path} of the work dir is empty or '
                    'unreadable (left by a run killed while it wrote it?); '
                    'this run takes it over.')
        if holder['host'] != socket.gethostname():
            raise self._locked_error(
                holder, 'another host; whether it still runs cannot be '
                'checked from here')
        if holder['pid'] == os.getpid():
            return None
        if _is_running(holder['pid']):
            raise self._locked_error(holder, 'this host')
        return (f'The work dir {self.work_dir} was locked by process '
                f'{holder["pid"]} (started {holder.get("start_time")}, '
                f'command: {holder.get("command")}), which no longer runs; '
                f'this run takes over its lock file {self.path}.')

    def _locked_error(self, holder: dict, where: str) -> RuntimeError:
        """The error of a work dir locked by ``holder``, running on
        ``where``."""
        return RuntimeError(
            f'The work dir {self.work_dir} is in use by another run: '
            f'process {holder["pid"]} on host {holder["host"]} '
            f'({where}), started {holder.get("start_time")}, command: '
            f'{holder.get("command")}. Two runs in one work dir overwrite '
            'each other\'s checkpoints, logs and pseudo labels. Wait for it '
            'to finish, or give this run another work dir (--work-dir); if '
            f'you are sure that it no longer runs, delete {self.path}.')


def _holder_info() -> dict:
    """Who holds a lock taken now by this process.

    Returns:
        dict: ``pid`` and ``host`` (which identify the process), its
        ``start_time`` and ``command`` (for people), and a ``token`` unique
        to this acquisition.
    """
    return dict(
        pid=os.getpid(),
        host=socket.gethostname(),
        start_time=datetime.now().isoformat(sep=' ', timespec='seconds'),
        command=shlex.join(sys.argv),
        token=uuid.uuid4().hex)


def _parse_holder(text: str) -> Optional[dict]:
    """The holder written in a lock file's ``text``, or None if the text is
    not a lock (empty, not JSON, no positive integer ``pid`` and string
    ``host``)."""
    try:
        holder = json.loads(text)
    except ValueError:
        return None
    if not isinstance(holder, dict):
        return None
    pid, host = holder.get('pid'), holder.get('host')
    if type(pid) is not int or pid <= 0 or not isinstance(host, str):
        return None
    return holder


def _is_running(pid: int) -> bool:
    """Whether the process ``pid`` of this host runs (or is a zombie).

    Always True on Windows, where ``os.kill(pid, 0)`` would end it."""
    if os.name == 'nt':
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it runs, as another user
        return True
    except OverflowError:  # not a process id
        return False
    return True


def _read_text(path: str) -> Optional[str]:
    """The text of the file ``path``, or None if there is no such file.
    Undecodable bytes are replaced, so that such a file reads as not a
    lock."""
    try:
        with open(path, encoding='utf-8', errors='replace') as f:
            return f.read()
    except FileNotFoundError:
        return None


def _create_exclusively(path: str, text: str) -> bool:
    """Create the file ``path`` holding ``text`` unless it exists, in one
    step: no other process sees it partly written.

    The text is written to a temporary file that is hard-linked to ``path``
    (which fails if ``path`` exists). On a file system without hard links,
    ``path`` is created with ``O_CREAT | O_EXCL`` and then written.

    Returns:
        bool: Whether this call created the file.
    """
    tmp = f'{path}.{uuid.uuid4().hex}{TMP_SUFFIX}'
    with open(tmp, 'w', encoding='utf-8') as f:
        f.write(text)
    try:
        os.link(tmp, path)
    except FileExistsError:
        return False
    except OSError:  # no hard links here (FAT, some FUSE and SMB mounts)
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return False
        with os.fdopen(fd, 'w', encoding='utf-8') as f:
            f.write(text)
    finally:
        os.remove(tmp)
    return True


def _remove_if_unchanged(path: str, text: str) -> None:
    """Remove the file ``path`` if it holds ``text``.

    The file is renamed aside first (one step), then checked: a file that
    another process created at ``path`` meanwhile is put back, not
    removed.
    """
    aside = f'{path}.{uuid.uuid4().hex}{STALE_SUFFIX}'
    try:
        os.rename(path, aside)
    except FileNotFoundError:  # removed meanwhile
        return
    try:
        found = _read_text(aside)
        if found is not None and found != text:
            _create_exclusively(path, found)
    finally:
        os.remove(aside)
