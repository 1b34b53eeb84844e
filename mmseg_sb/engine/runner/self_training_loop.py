# Copyright (c) mmseg_sb contributors. All rights reserved.
import copy
from typing import Dict, List, Optional, Sequence, Tuple, Union

from mmengine.hooks import CheckpointHook
from mmengine.runner import IterBasedTrainLoop, Runner
from torch.utils.data import DataLoader

from mmseg.registry import LOOPS, PARAM_SCHEDULERS
from ..hooks import PseudoLabelHook
from ..rounds import ROUNDS_KEY, Rounds
from ..schedulers import RoundPolyParamScheduler


@LOOPS.register_module()
class SelfTrainingLoop(IterBasedTrainLoop):
    """MMEngine's ``IterBasedTrainLoop`` whose length, intervals and
    schedules follow the rounds of the run's :class:`PseudoLabelHook`.

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

    Args:
        runner (Runner): The runner; its hooks include a PseudoLabelHook.
        dataloader (DataLoader | dict): The training dataloader.
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
        super().__init__(runner, dataloader, rounds.total, val_begin, interval,
                         dynamic_intervals)
        self.rounds = rounds
        for hook in runner.hooks:
            if isinstance(hook, CheckpointHook) and not hook.by_epoch:
                interval = rounds.interval(hook.interval)
                self._log_change(runner, 'default_hooks.checkpoint.interval',
                                 hook.interval, interval)
                hook.interval = interval
        runner.param_schedulers = self._with_rounds(runner.param_schedulers,
                                                    rounds)

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
