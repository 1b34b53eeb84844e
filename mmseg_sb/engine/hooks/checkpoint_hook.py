# Copyright (c) mmseg_sb contributors. All rights reserved.
import glob
import logging
import os
import os.path as osp
import re
import zipfile
from contextlib import contextmanager
from typing import Iterator, Optional

from mmengine.dist import barrier, is_main_process
from mmengine.fileio import LocalBackend, get_file_backend
from mmengine.hooks import CheckpointHook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner

from mmseg.registry import HOOKS
from ...utils.checkpoint import check_resumable

#: MMEngine's file in the work dir naming the checkpoint to resume from.
LAST_CHECKPOINT = 'last_checkpoint'
#: Suffix of a file while it is written; renamed into place when complete.
TMP_SUFFIX = '.tmp'


def replace_durably(tmp: str, path: str) -> None:
    """Flush the whole file ``tmp`` to disk, then rename it to ``path`` in
    one step (``os.replace``): ``path`` is the old file or the new one, never
    a part of either."""
    with open(tmp, 'rb+') as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)
    if os.name == 'posix':  # make the rename itself survive a power loss
        folder = os.open(osp.dirname(osp.abspath(path)), os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)


def write_text_atomically(path: str, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename."""
    with open(path + TMP_SUFFIX, 'w') as f:
        f.write(text)
    replace_durably(path + TMP_SUFFIX, path)


def is_complete_checkpoint(path: str) -> bool:
    """Whether ``path`` is a complete file written by ``torch.save``.

    ``torch.save`` writes a zip archive whose central directory (the index of
    its records: the pickle ``data.pkl`` and one record per tensor) comes
    last, so a file cut short anywhere has none. Opening the archive reads
    only that index (a few KB at the end), not the tensors: cheap enough for
    every checkpoint of a work dir, unlike ``torch.load``. A checkpoint in
    torch's legacy, non-zip format (``_use_new_zipfile_serialization=False``,
    which MMEngine does not use) counts as incomplete.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            return any(
                osp.basename(name) == 'data.pkl'
                for name in archive.namelist())
    except (OSError, zipfile.BadZipFile):
        return False


def newest_complete_checkpoint(folder: str,
                               filename_tmpl: str) -> Optional[str]:
    """The complete checkpoint in ``folder`` named by ``filename_tmpl``
    (``'iter_{}.pth'``, ``'epoch_{}.pth'``) with the largest step, or None."""
    prefix, suffix = filename_tmpl.split('{}')
    name = re.compile(re.escape(prefix) + r'(\d+)' + re.escape(suffix))
    steps = {}
    for path in glob.glob(osp.join(glob.escape(folder), '*')):
        match = name.fullmatch(osp.basename(path))
        if match:
            steps[int(match.group(1))] = path
    for step in sorted(steps, reverse=True):
        if is_complete_checkpoint(steps[step]):
            return steps[step]
    return None


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """MMEngine's ``CheckpointHook``, with saves that a kill cannot break.

    MMEngine's hook removes the oldest checkpoint (``max_keep_ckpts``) before
    it writes the new one in place, so a kill during a save can leave no
    complete checkpoint and a ``last_checkpoint`` naming a missing or
    truncated file; ``--resume`` then fails. This hook saves the way PyTorch
    Lightning does:

    - every checkpoint (``iter_*``/``epoch_*`` and ``best_*``) is written by
      ``Runner.save_checkpoint`` under a temporary name in the same folder
      (``<name>.tmp``), flushed to disk and renamed into place;
    - ``work_dir/last_checkpoint`` is replaced the same way, afterwards;
    - only then is the oldest checkpoint removed.

    So at every moment ``last_checkpoint`` names a complete checkpoint. A
    resumed run refuses, before it loads the weights, a checkpoint whose
    weights have other shapes (another ``num_classes``) or that lies past
    the run's end.
    Before a run resumes from ``last_checkpoint`` (``resume=True`` without
    ``load_from``; :meth:`before_run` precedes ``Runner.load_or_resume``), a
    bad one (empty, unreadable, or naming a file that is missing or not a
    complete checkpoint, see :func:`is_complete_checkpoint`) is pointed at
    the newest complete checkpoint of the checkpoint folder, or removed if
    there is none, so that the run starts from scratch; either way with a
    warning. Temporary files of an interrupted save are removed there too.
    Other runs (a fresh run, ``tools/test.py`` on the same work dir) leave
    the folder alone, as it may be in use.

    The rest is MMEngine's: intervals, ``save_last``, ``save_best``,
    ``max_keep_ckpts``, ``out_dir``, ``filename_tmpl``, ``published_keys``
    (published copies are written as MMEngine writes them). Only checkpoint
    files on the local disk saved by MMEngine's ``Runner`` are made atomic:
    with a non-local ``out_dir`` or ``backend_args``, ``file_client_args``,
    or a ``FlexibleRunner``, the hook behaves exactly as ``CheckpointHook``.

    Args:
        Same as :class:`mmengine.hooks.CheckpointHook`.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._saving_atomically = False

    def before_run(self, runner: Runner) -> None:
        """Before a run resumes from ``last_checkpoint``, remove leftovers of
        an interrupted save and repair a bad ``last_checkpoint``."""
        # The condition under which Runner.load_or_resume reads it.
        if not (self._is_atomic(runner) and runner._resume
                and runner._load_from is None):
            return
        if is_main_process():
            folder = self._checkpoint_dir(runner)
            pointer = osp.join(runner.work_dir, LAST_CHECKPOINT)
            self._remove_temporary_files(folder, pointer)
            if osp.exists(pointer):
                self._repair_last_checkpoint(pointer, folder)
        barrier()  # other ranks read last_checkpoint once it is repaired

    def after_load_checkpoint(self, runner: Runner, checkpoint: dict) -> None:
        """Before a resumed run loads the checkpoint's weights, refuse one
        of another model or past the run's end
        (:func:`~mmseg_sb.utils.checkpoint.check_resumable`)."""
        if not runner._resume:
            return  # load_from: fine-tuning may change the head
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        warning = check_resumable(model, checkpoint, runner.max_iters)
        if warning:
            runner.logger.warning(f'AtomicCheckpointHook: {warning}')

    def _save_checkpoint_with_step(self, runner: Runner, step: int,
                                   meta: dict) -> None:
        """Save the checkpoint of ``step`` atomically, then point
        ``last_checkpoint`` at it, then remove the oldest one.

        ``CheckpointHook`` does these in the reverse order, which is why this
        method is rewritten rather than extended; its bookkeeping of
        ``keep_ckpt_ids`` and ``last_ckpt`` is kept as is.
        """
        if not self._is_atomic(runner):
            return super()._save_checkpoint_with_step(runner, step, meta)
        oldest = self._keep_step(runner, step)
        filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        with self._atomic_saves(runner):
            runner.save_checkpoint(
                self.out_dir,
                filename,
                self.file_client_args,
                save_optimizer=self.save_optimizer,
                save_param_scheduler=self.save_param_scheduler,
                meta=meta,
                by_epoch=self.by_epoch,
                backend_args=self.backend_args,
                **self.args)
        if not is_main_process():
            return
        write_text_atomically(
            osp.join(runner.work_dir, LAST_CHECKPOINT), self.last_ckpt)
        if oldest is not None:
            self._remove(self.filename_tmpl.format(oldest))

    def _save_best_checkpoint(self, runner: Runner, metrics: dict) -> None:
        """``CheckpointHook``'s, with the best checkpoint saved atomically."""
        if not self._is_atomic(runner):
            return super()._save_best_checkpoint(runner, metrics)
        with self._atomic_saves(runner):
            super()._save_best_checkpoint(runner, metrics)

    @contextmanager
    def _atomic_saves(self, runner: Runner) -> Iterator[None]:
        """Within the context, ``runner.save_checkpoint(out_dir, filename,
        ...)`` writes ``filename + TMP_SUFFIX`` and renames it to
        ``filename`` once complete.

        ``Runner.save_checkpoint`` builds the checkpoint and writes it in one
        call, without a way to write elsewhere than the final name, so the
        hook redirects its own calls to it (the checkpoint's content does
        not depend on the file name). Re-entrant: ``_save_best_checkpoint``
        calls ``_save_checkpoint_with_step``.
        """
        if self._saving_atomically:
            yield
            return
        save = runner.save_checkpoint

        def save_atomically(out_dir: str, filename: str, *args, **kwargs):
            save(out_dir, filename + TMP_SUFFIX, *args, **kwargs)
            if is_main_process():  # Runner.save_checkpoint is master_only
                path = osp.join(out_dir, filename)
                replace_durably(path + TMP_SUFFIX, path)

        patched = vars(runner).get('save_checkpoint')
        self._saving_atomically = True
        runner.save_checkpoint = save_atomically
        try:
            yield
        finally:
            if patched is None:
                del runner.save_checkpoint  # the Runner's method again
            else:
                runner.save_checkpoint = patched
            self._saving_atomically = False

    def _keep_step(self, runner: Runner, step: int) -> Optional[int]:
        """Add ``step`` to the checkpoints kept (``max_keep_ckpts``) as
        ``CheckpointHook`` does; return the step that drops out, if any,
        for the caller to remove once the new checkpoint is saved."""
        if self.max_keep_ckpts <= 0 or (self.keep_ckpt_ids
                                        and self.keep_ckpt_ids[-1] == step):
            return None
        oldest = None
        if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
            oldest = self.keep_ckpt_ids.popleft()
        self.keep_ckpt_ids.append(step)
        runner.message_hub.update_info('keep_ckpt_ids',
                                       list(self.keep_ckpt_ids))
        return oldest if oldest != step else None

    def _remove(self, filename: str) -> None:
        """Remove a checkpoint of the checkpoint folder, as
        ``CheckpointHook`` does."""
        path = self.file_backend.join_path(self.out_dir, filename)
        if self.file_backend.isfile(path):
            self.file_backend.remove(path)
        elif self.file_backend.isdir(path):  # DeepSpeed's are folders
            self.file_backend.rmtree(path)

    def _remove_temporary_files(self, folder: str, pointer: str) -> None:
        """Remove what an interrupted save left: temporary checkpoints of
        ``folder`` (``iter_*.pth.tmp``, ``best_*_iter_*.pth.tmp``) and the
        temporary ``last_checkpoint``."""
        pattern = '*' + self.filename_tmpl.format('*') + TMP_SUFFIX
        leftovers = glob.glob(osp.join(glob.escape(folder), pattern))
        if osp.exists(pointer + TMP_SUFFIX):
            leftovers.append(pointer + TMP_SUFFIX)
        for path in leftovers:
            os.remove(path)

    def _repair_last_checkpoint(self, pointer: str, folder: str) -> None:
        """Point ``pointer`` (``last_checkpoint``) at the newest complete
        checkpoint of ``folder`` unless it names a complete checkpoint;
        remove it if there is none."""
        try:
            with open(pointer) as f:
                named = f.read().strip()
        except (OSError, UnicodeDecodeError) as e:
            problem = f'is unreadable ({e})'
        else:
            if not named:
                problem = 'is empty'
            elif not isinstance(get_file_backend(named), LocalBackend):
                return  # a remote checkpoint: not this hook's to judge
            elif not osp.isfile(named):
                problem = f'names {named}, which does not exist'
            elif not is_complete_checkpoint(named):
                problem = f'names {named}, which is not a complete checkpoint'
            else:
                return
        newest = newest_complete_checkpoint(folder, self.filename_tmpl)
        if newest is None:
            os.remove(pointer)
            action = (f'there is no complete checkpoint in {folder} either, '
                      'so it is removed and training starts from scratch')
        else:
            write_text_atomically(pointer, newest)
            action = (f'resuming from {newest} instead, the newest complete '
                      f'checkpoint in {folder}')
        print_log(
            f'AtomicCheckpointHook: {pointer} {problem}; {action}.',
            logger='current',
            level=logging.WARNING)

    def _checkpoint_dir(self, runner: Runner) -> str:
        """The folder of the checkpoints, as ``CheckpointHook.before_train``
        will set ``out_dir`` (``out_dir/<work dir name>`` or the work
        dir)."""
        if self.out_dir is None or self.out_dir == runner.work_dir:
            return runner.work_dir
        return osp.join(self.out_dir,
                        osp.basename(runner.work_dir.rstrip(osp.sep)))

    def _is_atomic(self, runner: Runner) -> bool:
        """Whether this hook's saves are atomic: local files written by a
        ``Runner``; otherwise ``CheckpointHook`` saves."""
        backend = get_file_backend(
            self.out_dir or runner.work_dir, backend_args=self.backend_args)
        return (isinstance(runner, Runner) and self.file_client_args is None
                and isinstance(backend, LocalBackend))
