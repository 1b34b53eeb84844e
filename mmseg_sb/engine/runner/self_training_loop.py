# Copyright (c) mmseg_sb contributors. All rights reserved.
import copy
import logging
import os.path as osp
from typing import Dict, Iterator, List, Optional, Sequence, Tuple, Union

from mmengine.hooks import CheckpointHook
from mmengine.logging import print_log
from mmengine.runner import IterBasedTrainLoop, Runner
from torch.utils.data import DataLoader

from mmseg.registry import DATASETS, LOOPS, PARAM_SCHEDULERS
from ...datasets import PseudoLabeledDataset, SemiSupervisedDataset
from ...utils import iter_dicts
from ..hooks import PseudoLabelHook
from ..rounds import ROUNDS_KEY, Rounds
from ..schedulers import RoundPolyParamScheduler


@LOOPS.register_module()
class SelfTrainingLoop(IterBasedTrainLoop):
    """MMEngine's ``IterBasedTrainLoop`` whose length, intervals,
    schedules and data follow the rounds of the run's
    :class:`PseudoLabelHook`.

    The rounds are given once, in ``default_hooks.pseudo_label.round_iters``
    (a leaf config or ``--cfg-options`` changes them with that one key).
    When the loop is built (after the hooks, before the parameter
    schedulers), it derives:

    - ``max_iters``: the sum of the rounds;
    - the validation interval and ``default_hooks.checkpoint.interval``: the
      largest divisor of the configured one (or of the rounds, if none is
      configured) that lands on every round end, so that every round ends
      with a validation and a checkpoint (which a run killed while labeling
      resumes from);
    - ``round_iters`` of every :class:`RoundPolyParamScheduler` in
      ``param_scheduler``, so the schedules restart with the rounds.

    A value given anyway that disagrees (``train_cfg.max_iters``, a
    scheduler's ``round_iters``) is an error naming the key to remove.

    The loop owns each round's data. Round 0 (the teacher) trains on
    ``train_dataloader``. Each student round trains on a loader built anew
    from ``student_dataloader`` (:meth:`train_on_round`), whose
    :class:`PseudoLabeledDataset` parts read that round's labels; a resumed
    run skips only the batches of its round already trained.

    Args:
        runner (Runner): The runner; its hooks include a PseudoLabelHook.
        dataloader (DataLoader | dict): The training dataloader of round 0.
        student_dataloader (dict): Config of the student rounds' loader; it
            holds the unlabeled images as :class:`PseudoLabeledDataset`
            parts (without ``label_dir``), all over the same images. A
            :class:`SemiSupervisedDataset` without ``labeled`` takes round
            0's dataset (without its pipeline), so the labeled split is
            given once.
        max_iters (int, optional): Must equal the rounds' sum if given.
            Defaults to None.
        val_begin (int): Iteration of the first validation. Defaults to 1.
        val_interval (int, optional): Validation interval, reduced to land
            on round ends. Defaults to None (once per round end).
        dynamic_intervals (list[tuple[int, int]], optional): As
            ``IterBasedTrainLoop``. Defaults to None.
    """

    def __init__(
            self,
            runner: Runner,
            dataloader: Union[DataLoader, Dict],
            student_dataloader: dict,
            max_iters: Optional[int] = None,
            val_begin: int = 1,
            val_interval: Optional[int] = None,
            dynamic_intervals: Optional[List[Tuple[int, int]]] = None) -> None:
        rounds = self._rounds_of(runner)
        if max_iters is not None and max_iters != rounds.total:
            raise ValueError(
                f'train_cfg.max_iters={max_iters} differs from the '
                f'{rounds.total} iterations of {ROUNDS_KEY}={rounds.iters};'
                ' remove train_cfg.max_iters: SelfTrainingLoop takes it from '
                'the rounds.')
        interval = rounds.interval(val_interval)
        self._log_change(runner, 'train_cfg.val_interval', val_interval,
                         interval)
        _check_data_roots('train_dataloader', dataloader)
        _check_data_roots('train_cfg.student_dataloader', student_dataloader)
        super().__init__(runner, dataloader, rounds.total, val_begin, interval,
                         dynamic_intervals)
        self.rounds = rounds
        self.unlabeled_dataset = self._unlabeled_dataset(student_dataloader)
        self.student_dataloader = _with_labeled(student_dataloader, dataloader)
        _check_batch_size('train_dataloader', self.dataloader.batch_size,
                          getattr(self.dataloader.sampler, 'batch_size', None))
        _check_batch_size(
            'train_cfg.student_dataloader',
            student_dataloader.get('batch_size'),
            student_dataloader.get('sampler', {}).get('batch_size'))
        for hook in runner.hooks:
            if isinstance(hook, CheckpointHook) and not hook.by_epoch:
                interval = rounds.interval(hook.interval)
                self._log_change(runner, 'default_hooks.checkpoint.interval',
                                 hook.interval, interval)
                hook.interval = interval
        runner.param_schedulers = self._with_rounds(runner.param_schedulers,
                                                    rounds)

    def train_on_round(self, label_dir: str) -> None:
        """Train from the next batch on a loader built from
        ``student_dataloader`` with the labels of ``label_dir``, a complete
        round; the previous loader, its workers and prefetched batches are
        dropped."""
        cfg = copy.deepcopy(self.student_dataloader)
        for dataset in _pseudo_labeled_cfgs(cfg):
            dataset['label_dir'] = label_dir
        self.dataloader = self.runner.build_dataloader(
            cfg,
            seed=self.runner.seed,
            diff_rank_seed=self.runner.cfg.get('randomness',
                                               {}).get('diff_rank_seed',
                                                       False))
        self.dataloader_iterator = _endless(self.dataloader)

    def run(self) -> None:
        """``IterBasedTrainLoop.run``, except that a resumed run skips only
        the batches of its own round (each round starts its data anew)."""
        self.runner.call_hook('before_train')
        self.runner.call_hook('before_train_epoch')
        skip = self._iter - self.rounds.starts[self.rounds.of(self._iter)] \
            if self._iter < self._max_iters else 0
        if skip > 0:
            print_log(
                f'Advance dataloader {skip} steps to skip data of this round '
                'that has already been trained',
                logger='current',
                level=logging.WARNING)
            for _ in range(skip):
                next(self.dataloader_iterator)
        while self._iter < self._max_iters and not self.stop_training:
            self.runner.model.train()
            self.run_iter(next(self.dataloader_iterator))
            self._decide_current_val_interval()
            if (self.runner.val_loop is not None
                    and self._iter >= self.val_begin
                    and (self._iter % self.val_interval == 0
                         or self._iter == self._max_iters)):
                self.runner.val_loop.run()
        self.runner.call_hook('after_train_epoch')
        self.runner.call_hook('after_train')
        return self.runner.model

    @staticmethod
    def _unlabeled_dataset(student_dataloader: dict) -> PseudoLabeledDataset:
        """The unlabeled images (without labels) of the student loader's
        :class:`PseudoLabeledDataset` parts, which must all hold them."""
        if not isinstance(student_dataloader, dict):
            raise TypeError(
                'SelfTrainingLoop student_dataloader must be a dataloader '
                f'config, got {type(student_dataloader).__name__}.')
        parts = list(_pseudo_labeled_cfgs(student_dataloader))
        images = [{
            k: v
            for k, v in p['dataset'].items() if k != 'pipeline'
        } for p in parts]
        if not parts or any(i != images[0] for i in images):
            raise ValueError(
                'SelfTrainingLoop student_dataloader needs one set of '
                'unlabeled images, as PseudoLabeledDataset parts that differ '
                f'only in their pipeline; found {len(parts)} parts over '
                f'{len({repr(i) for i in images})} sets. Wrap the unlabeled '
                'dataset as dict(type="PseudoLabeledDataset", dataset=...).')
        return DATASETS.build(dict(parts[0], label_dir=None, lazy_init=True))

    @staticmethod
    def _rounds_of(runner: Runner) -> Rounds:
        hooks = [h for h in runner.hooks if isinstance(h, PseudoLabelHook)]
        if len(hooks) != 1:
            raise ValueError(
                f'SelfTrainingLoop needs one PseudoLabelHook, found '
                f'{len(hooks)}; give it as default_hooks.pseudo_label = '
                'dict(type="PseudoLabelHook", round_iters=[...]).')
        return hooks[0].rounds

    @staticmethod
    def _log_change(runner: Runner, key: str, given: Optional[int],
                    used: int) -> None:
        if given is not None and given > 0 and given != used:
            runner.logger.info(
                f'SelfTrainingLoop: {key}={given} reduced to {used} so that '
                'it lands on every round end.')

    @classmethod
    def _with_rounds(cls, schedulers, rounds: Rounds):
        """The ``param_scheduler`` config with the rounds filled into every
        round scheduler; built schedulers are left as they are."""
        if isinstance(schedulers, dict) and 'type' not in schedulers:
            return {  # one list per optimizer
                name: cls._with_rounds(value, rounds)
                for name, value in schedulers.items()
            }
        if isinstance(schedulers, Sequence):
            return [cls._with_rounds(s, rounds) for s in schedulers]
        if not isinstance(schedulers, dict):
            return schedulers  # None, or a built scheduler
        scheduler_type = schedulers['type']
        if isinstance(scheduler_type, str):
            scheduler_type = PARAM_SCHEDULERS.get(scheduler_type)
        if not (isinstance(scheduler_type, type)
                and issubclass(scheduler_type, RoundPolyParamScheduler)):
            return schedulers
        given = schedulers.get('round_iters')
        if given is not None and list(given) != rounds.iters:
            raise ValueError(
                f'param_scheduler {schedulers["type"]} round_iters='
                f'{list(given)} differ from {ROUNDS_KEY}={rounds.iters}; '
                'remove round_iters from the scheduler: SelfTrainingLoop '
                'fills it in.')
        return dict(copy.deepcopy(schedulers), round_iters=rounds.iters)


def _pseudo_labeled_cfgs(cfg) -> List[dict]:
    """Every :class:`PseudoLabeledDataset` config inside ``cfg``."""
    return [
        d for d in iter_dicts(cfg)
        if d.get('type') in ('PseudoLabeledDataset', PseudoLabeledDataset)
    ]


def _with_labeled(student_dataloader: dict, dataloader: Union[DataLoader,
                                                              Dict]) -> dict:
    """A copy of ``student_dataloader`` whose SemiSupervisedDataset has
    ``labeled``: the round-0 loader's dataset if it was not given."""
    student_dataloader = copy.deepcopy(student_dataloader)
    dataset = student_dataloader.get('dataset')
    if not isinstance(dataset, dict) or 'labeled' in dataset or \
            DATASETS.get(dataset.get('type')) is not SemiSupervisedDataset:
        return student_dataloader
    if not isinstance(dataloader, dict):
        raise TypeError(
            'SelfTrainingLoop: train_cfg.student_dataloader.dataset has no '
            'labeled part and train_dataloader is not a config to take it '
            'from; give student_dataloader.dataset.labeled.')
    labeled = copy.deepcopy(dataloader['dataset'])
    labeled.pop('pipeline', None)
    dataset['labeled'] = labeled
    return student_dataloader


def _check_data_roots(key: str, loader) -> None:
    """A ``FileNotFoundError`` naming the first ``data_root`` of a loader
    config that does not exist."""
    for dataset in iter_dicts(loader):
        root = dataset.get('data_root')
        if isinstance(root, str) and root and not osp.isdir(root):
            raise FileNotFoundError(
                f'{key}: data_root {root} does not exist; prepare the data '
                'as README.md describes, or point data_root at it (--cfg-'
                f'options {key}.dataset...data_root=...).')


def _endless(loader: DataLoader) -> Iterator:
    """The batches of ``loader``, pass after pass."""
    while True:
        yield from loader


def _check_batch_size(key: str, batch_size: Optional[int],
                      sampler_batch_size: Optional[int]) -> None:
    """A ``ValueError`` if a loader's sampler makes batches of another size
    than the loader's ``batch_size``."""
    if sampler_batch_size is not None and sampler_batch_size != batch_size:
        raise ValueError(
            f'{key}.sampler.batch_size={sampler_batch_size} differs from '
            f'{key}.batch_size={batch_size}; set them to the same value.')
