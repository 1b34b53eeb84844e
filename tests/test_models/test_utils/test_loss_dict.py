# Copyright (c) mmseg_sb contributors. All rights reserved.
import pytest
import torch

from mmseg_sb.models.utils import loss_term, reweight_loss_dict


def losses():
    return {
        'decode.loss_ce': torch.tensor(2.),
        'decode.acc_seg': torch.tensor(50.),
        'loss_fp': torch.tensor(4.),
        'loss_strong_1': torch.tensor(8.),
        'mask_ratio': torch.tensor(0.5),
    }


def test_one_weight_scales_every_loss_entry_only():
    before = losses()
    out = reweight_loss_dict(before, 0.25)
    assert list(out) == list(before)
    values = {key: value.item() for key, value in out.items()}
    assert values == {
        'decode.loss_ce': 0.5,
        'decode.acc_seg': 50.,
        'loss_fp': 1.,
        'loss_strong_1': 2.,
        'mask_ratio': 0.5,
    }
    assert before['loss_fp'].item() == 4.  # not modified


def test_a_weight_per_term():
    out = reweight_loss_dict(losses(), dict(ce=1., fp=0.5, strong_1=0.125))
    assert [v.item() for v in out.values()] == [2., 50., 2., 1., 0.5]
    with pytest.raises(KeyError, match='strong_1'):
        reweight_loss_dict(losses(), dict(ce=1., fp=0.5))


def test_gradients_follow_the_weight():
    x = torch.tensor(3., requires_grad=True)
    reweight_loss_dict({'loss_sc': x * x}, 0.5)['loss_sc'].backward()
    assert x.grad.item() == 3.


def test_loss_term():
    assert loss_term('unsup.loss_strong_1') == 'strong_1'
    assert loss_term('sup.decode.loss_ce') == 'ce'
    assert loss_term('loss_sc') == 'sc'
    with pytest.raises(ValueError, match="'sup.decode.acc_seg'"):
        loss_term('sup.decode.acc_seg')
