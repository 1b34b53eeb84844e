# Copyright (c) mmseg_sb contributors. All rights reserved.
from typing import Optional

from mmengine.dist import broadcast_object_list, is_main_process
from mmengine.hooks import Hook
from mmengine.runner import BaseLoop, Runner

from mmseg.registry import HOOKS
from ...utils import WorkDirLock


@HOOKS.register_module()
class WorkDirLockHook(Hook):
    """Lets one training run at a time use a work dir.

    Two training runs in one work dir overwrite each other's checkpoints,
    ``last_checkpoint`` and pseudo labels, and fail later with misleading
    errors. This hook locks the work dir (:class:`WorkDirLock`, which owns
    the lock file and judges its holder) when training starts and unlocks it
    when training ends. A second training run in a locked work dir stops in
    ``before_run``, with an error naming the run that holds the lock: before
    ``Runner.load_or_resume``, and, the hook's priority being
    ``VERY_HIGH``, before the hooks that resume, repair checkpoints or
    write pseudo labels.

    Only training locks: a run of ``Runner.val`` or ``Runner.test``
    (``tools/test.py``) reads the work dir and may run beside a training
    run. A training run is told apart as MMEngine's ``LoggerHook`` does:
    ``Runner.train`` builds the train loop before ``before_run``, while
    ``val`` and ``test`` leave it a config or None (unless the same runner
    trained before; such a run locks too).

    Rank 0 holds the lock and the other ranks learn whether it was taken, so
    that every rank raises the same error rather than waiting for rank 0 at
    the next collective call.

    ``Runner.train`` calls no hook when training raises: the lock is then
    released when the process exits, and a new runner in the same process (a
    retry) takes it over. A killed run leaves its lock, which the next run
    on the same host takes over, with a warning, as its process no longer
    runs.

    Examples:
        >>> custom_hooks = [dict(type='WorkDirLockHook')]
    """

    priority = 'VERY_HIGH'

    def __init__(self) -> None:
        self._lock: Optional[WorkDirLock] = None

    def before_run(self, runner: Runner) -> None:
        """Lock the work dir of a training run, on rank 0.

        Raises:
            RuntimeError: On every rank, if another run holds the lock.
        """
        if not isinstance(runner._train_loop, BaseLoop):
            return  # Runner.val or Runner.test
        self._lock = WorkDirLock(runner.work_dir)
        failure: Optional[Exception] = None
        if is_main_process():
            try:
                self._lock.acquire()
            except Exception as e:  # the other ranks must hear of any
                failure = e
        message = [None if failure is None else str(failure)]
        broadcast_object_list(message)
        if failure is not None:
            raise failure
        if message[0] is not None:
            raise RuntimeError(message[0])

    def after_run(self, runner: Runner) -> None:
        """Unlock the work dir, if this hook locked it."""
        if self._lock is not None:
            self._lock.release()
            self._lock = None
