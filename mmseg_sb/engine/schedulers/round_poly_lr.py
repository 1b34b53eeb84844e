# Copyright (c) mmseg_sb contributors. All rights reserved.
from typing import List, Optional, Sequence

from mmengine.optim.scheduler.lr_scheduler import LRSchedulerMixin
from mmengine.optim.scheduler.param_scheduler import _ParamScheduler

from mmseg.registry import PARAM_SCHEDULERS
from ..rounds import Rounds

#: Attributes that define the schedule (taken from the config on resume).
_SCHEDULE_KEYS = ('rounds', 'round_iters', 'round_mults', 'group_key',
                  'group_mults', 'eta_min', 'power', 'begin', 'end')


@PARAM_SCHEDULERS.register_module()
class RoundPolyParamScheduler(_ParamScheduler):
    """Polynomial decay that restarts at the start of every self-training
    round, with per-round (and per-parameter-group) multipliers.

    Within round ``r`` (``round_iters[r]`` iterations starting at iteration
    ``s_r``), at iteration ``i``, for a parameter group of base value
    ``base``::

        base_r = base * round_mults[r] * group_mults[r]
        t = (i - s_r) / (round_iters[r] - 1)
        value = eta_min + (base_r - eta_min) * (1 - t) ** power

    which is MMEngine's ``PolyParamScheduler`` (``begin=s_r``,
    ``end=s_r + round_iters[r]``) over each round; ``power=0`` gives a
    per-round constant (e.g. ``param_name='weight_decay'``,
    ``round_mults=[1.0, 0.0]``: weight decay for the teacher only).
    ``group_mults`` is the list a parameter group holds under the key
    ``round_<param_name>_mults`` (1 if absent), which MMEngine's
    ``paramwise_cfg`` puts there: ``custom_keys={'decode_head':
    dict(round_lr_mults=[1.0, 10.0])}`` gives the decode head a 10x learning
    rate in student rounds only. The value is computed in closed form from the
    iteration, so resuming gives the same schedule. Iteration-based only.

    In a self-training config, leave ``round_iters`` out: the run's
    :class:`SelfTrainingLoop` fills in the ``PseudoLabelHook``'s rounds.

    Args:
        optimizer (Optimizer | OptimWrapper): Wrapped optimizer.
        param_name (str): Name of the parameter to schedule.
        round_iters (Sequence[int]): Iterations of each round (see
            :class:`Rounds`); rounds with 0 iterations are skipped.
        eta_min (float): Value at the end of every round. Defaults to 0.
        power (float): Power of the polynomial. Defaults to 1.0.
        round_mults (Sequence[float], optional): Multiplier of the base value
            in each round; the last one holds for the remaining rounds, e.g.
            ``[1.0, 0.2]`` for students at a fifth of the teacher's learning
            rate. Defaults to None (all 1).
    """

    def __init__(self,
                 optimizer,
                 param_name: str,
                 round_iters: Optional[Sequence[int]] = None,
                 eta_min: float = 0.,
                 power: float = 1.0,
                 round_mults: Optional[Sequence[float]] = None,
                 **kwargs) -> None:
        if round_iters is None:
            raise TypeError(
                f'{type(self).__name__} needs round_iters; in a '
                'self-training config, set train_cfg=dict(type='
                '"SelfTrainingLoop"), which fills in the PseudoLabelHook\'s.')
        self.rounds = Rounds(round_iters)
        self.round_iters = self.rounds.iters
        self.round_mults = self._per_round(round_mults, 'round_mults')
        self.eta_min = eta_min
        self.power = power
        if kwargs.pop('by_epoch', False):
            raise ValueError('RoundPolyLR is iteration-based; set '
                             'by_epoch=False.')
        kwargs.setdefault('end', self.rounds.total)
        # Read before the base class takes its first step.
        self.group_key = f'round_{param_name}_mults'
        self.group_mults = [
            self._per_round(group.get(self.group_key), self.group_key)
            for group in optimizer.param_groups
        ]
        super().__init__(optimizer, param_name, by_epoch=False, **kwargs)

    def _per_round(self, mults: Optional[Sequence[float]],
                   name: str) -> List[float]:
        """One multiplier per round; the last one given holds for the
        remaining rounds."""
        mults = [1.0] if mults is None else list(mults)
        if not 1 <= len(mults) <= len(self.round_iters):
            raise ValueError(
                f'{name}={mults} needs 1 to {len(self.round_iters)} values '
                f'for round_iters={self.round_iters}.')
        mults += mults[-1:] * (len(self.round_iters) - len(mults))
        return [float(m) for m in mults]

    def state_dict(self) -> dict:
        """MMEngine's state without the :class:`Rounds` object: a
        checkpoint holds plain values only (``round_iters`` says it)."""
        state = super().state_dict()
        state.pop('rounds', None)
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore the progress only: the rounds, multipliers, power and end
        come from the config, so a resumed run may add rounds."""
        state_dict = {
            k: v
            for k, v in state_dict.items() if k not in _SCHEDULE_KEYS
        }
        super().load_state_dict(state_dict)

    def _get_value(self) -> List[float]:
        step = self.last_step
        # The last round that has started (skipping empty rounds).
        r = self.rounds.of(step)
        # As MMEngine's PolyParamScheduler: the last iteration of a round
        # reaches eta_min.
        span = max(self.round_iters[r] - 1, 1)
        progress = (step - self.rounds.starts[r]) / span
        factor = max(1.0 - progress, 0.0)**self.power
        return [
            self.eta_min +
            (base * self.round_mults[r] * group_mults[r] - self.eta_min) *
            factor
            for base, group_mults in zip(self.base_values, self.group_mults)
        ]


@PARAM_SCHEDULERS.register_module()
class RoundPolyLR(LRSchedulerMixin, RoundPolyParamScheduler):
    """Poly learning rate restarted at every self-training round.

    See :class:`RoundPolyParamScheduler`; in a self-training run it takes
    the rounds of the ``PseudoLabelHook``.
    """
