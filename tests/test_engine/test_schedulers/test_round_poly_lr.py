# Copyright (c) mmseg_sb contributors. All rights reserved.
import pytest
import torch
from mmengine.optim.scheduler import PolyLR

from mmseg_sb.engine import RoundPolyLR, RoundPolyParamScheduler


def lrs(scheduler, optimizer, steps):
    out = []
    for _ in range(steps):
        out.append(optimizer.param_groups[0]['lr'])
        optimizer.step()
        scheduler.step()
    return out


def sgd(lr=0.1):
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)


def test_each_round_is_mmengine_poly():
    rounds = [6, 4, 4]
    opt = sgd()
    got = lrs(
        RoundPolyLR(opt, round_iters=rounds, power=0.9, eta_min=1e-3), opt, 14)
    start = 0
    for n in rounds:
        ref_opt = sgd()
        ref = lrs(
            PolyLR(
                ref_opt,
                power=0.9,
                eta_min=1e-3,
                begin=0,
                end=n,
                by_epoch=False), ref_opt, n)
        assert got[start:start + n] == pytest.approx(ref)
        start += n


def test_round_mults_and_resume_keeps_config():
    opt = sgd()
    sched = RoundPolyLR(opt, round_iters=[3, 3], round_mults=[1.0, 0.2])
    got = lrs(sched, opt, 6)
    assert got[3] == pytest.approx(0.02)
    # The last multiplier holds for later rounds.
    assert RoundPolyLR(
        sgd(), round_iters=[3, 3, 3],
        round_mults=[1.0, 0.2]).round_mults == [1.0, 0.2, 0.2]
    state = sched.state_dict()
    opt2 = sgd()
    longer = RoundPolyLR(opt2, round_iters=[3, 3, 3])
    longer.load_state_dict(state)
    assert longer.round_iters == [3, 3, 3] and longer.end == 9


@pytest.mark.parametrize('kwargs', [
    dict(round_iters=[]),
    dict(round_iters=[3, -1]),
    dict(round_iters=[3, 3], round_mults=[1.0, 0.2, 0.2]),
    dict(round_iters=[3], by_epoch=True),
])
def test_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        RoundPolyLR(sgd(), **kwargs)


def test_group_round_mults_and_weight_decay_per_round():
    """The student settings of the release: the decode head's group at 10x
    in student rounds only; weight decay for the teacher only."""
    backbone, head = (torch.nn.Parameter(torch.zeros(1)),
                      torch.nn.Parameter(torch.zeros(1)))
    opt = torch.optim.SGD([
        dict(params=[backbone]),
        dict(params=[head], round_lr_mults=[1.0, 10.0])
    ],
                          lr=0.1,
                          weight_decay=5e-4)
    rounds = [3, 3, 3]
    lr = RoundPolyLR(opt, round_iters=rounds, round_mults=[1.0, 0.2])
    wd = RoundPolyParamScheduler(
        opt,
        param_name='weight_decay',
        round_iters=rounds,
        round_mults=[1.0, 0.0],
        power=0.0)
    seen = []
    for _ in range(9):
        seen.append([(g['lr'], g['weight_decay']) for g in opt.param_groups])
        opt.step()
        lr.step()
        wd.step()
    for it in (0, 3, 6):  # the first iteration of each round
        mult, decay = (1.0, 5e-4) if it == 0 else (0.2, 0.0)
        head_mult = 1.0 if it == 0 else 10.0
        assert seen[it][0] == pytest.approx((0.1 * mult, decay))
        assert seen[it][1] == pytest.approx((0.1 * mult * head_mult, decay))
    assert all(s[0][1] == 5e-4 for s in seen[:3])  # constant in a round
    with pytest.raises(ValueError, match='round_lr_mults'):
        RoundPolyLR(
            torch.optim.SGD([dict(params=[head], round_lr_mults=[])], lr=0.1),
            round_iters=rounds)
