# Copyright (c) mmseg_sb contributors. All rights reserved.
import time
from typing import List, Tuple

from mmengine.dataset import BaseDataset
from mmengine.dist import broadcast_object_list, is_main_process
from mmengine.hooks import Hook
from mmengine.runner import Runner

from mmseg.registry import HOOKS
from ...datasets.file_check import check_dataset_files


@HOOKS.register_module()
class CheckInputsHook(Hook):
    """Checks the files of the run's datasets before training starts.

    A bad image or label file (missing, truncated, with label values beyond
    the classes) or a blank line in a split file otherwise stops training at
    its first draw, possibly after a whole teacher round, with an error that
    names neither the file nor the fix. Before the first iteration (and
    before the teacher is loaded or a round labeled: priority
    ``VERY_HIGH``) this hook has
    :func:`~mmseg_sb.datasets.file_check.check_dataset_files` read the files
    of ``train_dataloader``, of a :class:`SelfTrainingLoop`'s unlabeled
    images (and their ground truth, if any) and of ``val_dataloader``, on
    rank 0, and every rank raises its error naming the files.

    Args:
        decode (bool): Decode every image and label and check the labels'
            values; False checks only that the files exist and the split
            files, for huge sets. Defaults to True.
        num_workers (int): Threads that read the files. Defaults to 8.
    """

    priority = 'VERY_HIGH'

    def __init__(self, decode: bool = True, num_workers: int = 8) -> None:
        self.decode = decode
        self.num_workers = num_workers

    def before_train(self, runner: Runner) -> None:
        """Check the files; raise the same error on every rank."""
        error = [None]
        if is_main_process():
            start = time.perf_counter()
            try:
                count = check_dataset_files(
                    self._datasets(runner), self.decode, self.num_workers)
            except (ValueError, TypeError, OSError) as e:
                error[0] = f'{type(e).__name__}: {e}'
            else:
                runner.logger.info(f'CheckInputsHook: {count} files '
                                   f'{"read" if self.decode else "found"} in '
                                   f'{time.perf_counter() - start:.1f} s.')
        broadcast_object_list(error)
        if error[0] is not None:
            raise ValueError(
                f'CheckInputsHook: {error[0]}\n(This check runs before '
                'training; default_hooks.check_inputs.decode=False checks '
                'only that the files exist.)')

    @staticmethod
    def _datasets(runner: Runner) -> List[Tuple[str, BaseDataset]]:
        """The datasets the run reads, each with its place in the
        config."""
        datasets = [('train_dataloader.dataset',
                     runner.train_loop.dataloader.dataset)]
        unlabeled = getattr(runner.train_loop, 'unlabeled_dataset', None)
        if unlabeled is not None:
            datasets.append(('train_cfg.student_dataloader (its unlabeled '
                             'images)', unlabeled))
        if runner.val_loop is not None:
            datasets.append(
                ('val_dataloader.dataset', runner.val_loop.dataloader.dataset))
        return datasets
