# Copyright (c) mmseg_sb contributors. All rights reserved.
import copy

import pytest
import torch
import torch.nn as nn
from mmcv.cnn import build_norm_layer
from mmengine.config import ConfigDict
from mmengine.model import revert_sync_batchnorm

from mmseg.models.backbones import ResNetV1c
from mmseg_sb.models import DSBN, convert_to_dsbn, dsbn_split


def test_split_routes_samples_and_statistics_per_branch():
    torch.manual_seed(0)
    dsbn = DSBN(3, momentum=1.0)  # running stats = last batch stats
    dsbn.train()
    weak = torch.randn(2, 3, 4, 4)
    strong = torch.randn(3, 3, 4, 4) * 5 + 10
    with dsbn_split(dsbn, 2):
        out = dsbn(torch.cat([weak, strong]))
    ref_main, ref_aux = nn.BatchNorm2d(3), nn.BatchNorm2d(3)
    torch.testing.assert_close(out[:2], ref_main(weak))
    torch.testing.assert_close(out[2:], ref_aux(strong))
    torch.testing.assert_close(dsbn.main.running_mean, weak.mean((0, 2, 3)))
    torch.testing.assert_close(dsbn.aux.running_mean, strong.mean((0, 2, 3)))
    # The split is scoped: outside the block every sample goes to main.
    assert dsbn.num_main is None


def test_eval_uses_main_only():
    dsbn = DSBN(3)
    with torch.no_grad():
        dsbn.main.running_mean.fill_(1.0)
        dsbn.aux.running_mean.fill_(-7.0)
    dsbn.eval()
    x = torch.randn(4, 3, 2, 2)
    with dsbn_split(dsbn, 1):
        out = dsbn(x)
    torch.testing.assert_close(out, dsbn.main(x))


def test_gradients_reach_only_the_used_branch():
    dsbn = DSBN(2)
    x = torch.randn(4, 2, 3, 3)
    with dsbn_split(dsbn, 4):
        dsbn(x).pow(2).sum().backward()
    assert dsbn.main.weight.grad is not None
    assert dsbn.aux.weight.grad is None


def test_split_larger_than_batch_raises():
    dsbn = DSBN(2)
    with dsbn_split(dsbn, 5), pytest.raises(ValueError, match='num_main=5'):
        dsbn(torch.randn(4, 2, 2, 2))


def test_convert_copies_weights_and_statistics():
    model = nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4), nn.ReLU())
    with torch.no_grad():
        model[1].weight.uniform_()
        model[1].running_var.uniform_(1, 2)
    before = {k: v.clone() for k, v in model[1].state_dict().items()}
    convert_to_dsbn(model)
    assert isinstance(model[1], DSBN)
    for branch in (model[1].main, model[1].aux):
        for k, v in branch.state_dict().items():
            torch.testing.assert_close(v, before[k])
    assert model[1].main.weight is not model[1].aux.weight


def test_plain_bn_state_dict_fills_both_branches():
    plain = nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4))
    with torch.no_grad():
        plain[1].bias.uniform_()
        plain[1].running_mean.uniform_()
    model = convert_to_dsbn(
        nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4)))
    result = model.load_state_dict(plain.state_dict(), strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    for branch in (model[1].main, model[1].aux):
        torch.testing.assert_close(branch.bias, plain[1].bias)
        torch.testing.assert_close(branch.running_mean, plain[1].running_mean)


def test_norm_cfg_builds_with_bn_abbreviation_and_inner_type():
    name, layer = build_norm_layer(
        dict(type='DSBN', norm_cfg=dict(type='SyncBN')), 8, postfix=1)
    assert name == 'bn1' and isinstance(layer, DSBN)
    assert isinstance(layer.main, nn.SyncBatchNorm)
    # MMEngine's revert (used when not distributed) reaches the inner SyncBN.
    reverted = revert_sync_batchnorm(nn.Sequential(layer))
    assert not isinstance(reverted[0].main, nn.SyncBatchNorm)
    assert isinstance(reverted[0], DSBN)
    reverted[0](torch.randn(2, 8, 2, 2))


def test_resnet_with_dsbn_norm_cfg_and_norm_eval():
    backbone = ResNetV1c(
        depth=18,
        norm_cfg=dict(type='DSBN', norm_cfg=dict(type='BN')),
        norm_eval=True)
    assert isinstance(backbone.layer1[0].bn1, DSBN)
    backbone.train()
    bns = [m for m in backbone.modules() if isinstance(m, nn.BatchNorm2d)]
    assert bns and all(not m.training for m in bns)
    mean_before = backbone.layer1[0].bn1.main.running_mean.clone()
    with dsbn_split(backbone, 1):
        backbone(torch.randn(2, 3, 32, 32))
    torch.testing.assert_close(backbone.layer1[0].bn1.main.running_mean,
                               mean_before)


def test_nested_dsbn_is_rejected():
    with pytest.raises(ValueError, match='nest'):
        DSBN(4, norm_cfg=dict(type='DSBN'))


def bn_entries(prefix, value):
    return {
        f'{prefix}.{k}': torch.full((1, ), float(value))
        for k in ('weight', 'bias', 'running_mean', 'running_var',
                  'num_batches_tracked')
    }


def test_plain_state_dict_by_hand():
    state = {'stem.0.weight': torch.zeros(1)}
    state.update(bn_entries('stem.1.main', 1))
    state.update(bn_entries('stem.1.aux', 2))
    # A submodule that happens to be called main, without an aux twin.
    state['head.main.weight'] = torch.zeros(1)
    state.update(bn_entries('layer.bn.main', 3))
    state.update(bn_entries('layer.bn.aux', 4))
    state['flag'] = torch.tensor(True)
    plain = DSBN.plain_state_dict(state)
    assert list(plain) == [
        'stem.0.weight', *bn_entries('stem.1', 0), 'head.main.weight',
        *bn_entries('layer.bn', 0), 'flag'
    ]
    assert all(plain[k].item() == 1 for k in bn_entries('stem.1', 0))
    assert all(plain[k].item() == 3 for k in bn_entries('layer.bn', 0))
    # A bare DSBN's state dict is its main BatchNorm's.
    assert list(DSBN.plain_state_dict(DSBN(2).state_dict())) == list(
        nn.BatchNorm2d(2).state_dict())


def test_plain_state_dict_without_dsbn_is_unchanged():
    state = ResNetV1c(depth=18).state_dict()
    plain = DSBN.plain_state_dict(state)
    assert list(plain) == list(state)
    assert all(plain[k] is state[k] for k in state)


def test_plain_state_dict_loads_into_the_plain_model():
    torch.manual_seed(0)
    model = convert_to_dsbn(ResNetV1c(depth=18))
    with torch.no_grad():
        for layer in model.modules():
            if isinstance(layer, DSBN):
                layer.main.running_mean.uniform_(-1, 1)
                layer.aux.running_var.fill_(9.)
    plain = ResNetV1c(depth=18)
    plain.load_state_dict(
        DSBN.plain_state_dict(model.state_dict()), strict=True)
    model.eval(), plain.eval()  # ResNet.train() returns None
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        for a, b in zip(model(x), plain(x)):
            torch.testing.assert_close(a, b)


def test_plain_norm_cfg():
    dsbn = dict(type='DSBN', norm_cfg=dict(type='SyncBN', requires_grad=True))
    bn = dict(type='BN')
    cfg = dict(
        type='EncoderDecoder',
        backbone=dict(type='ResNetV1c', norm_cfg=dsbn),
        heads=[dict(norm_cfg=dsbn), dict(norm_cfg=bn)],
        stages=(dict(norm_cfg=dict(type='DSBN')), 3, 'DSBN'),
        # Extra arguments of the DSBN go to each branch, so to the plain
        # layer too.
        neck=dict(norm_cfg=dict(type='DSBN', norm_cfg=None, momentum=0.01)))
    before = copy.deepcopy(cfg)
    syncbn = dict(type='SyncBN', requires_grad=True)
    assert DSBN.plain_norm_cfg(cfg) == dict(
        type='EncoderDecoder',
        backbone=dict(type='ResNetV1c', norm_cfg=syncbn),
        heads=[dict(norm_cfg=syncbn), dict(norm_cfg=bn)],
        stages=(dict(norm_cfg=bn), 3, 'DSBN'),
        neck=dict(norm_cfg=dict(type='BN', momentum=0.01)))
    assert cfg == before
    assert DSBN.plain_norm_cfg(dsbn) == syncbn
    config = ConfigDict(cfg)
    plain = DSBN.plain_norm_cfg(config)
    assert isinstance(plain, ConfigDict) and plain.backbone.norm_cfg == syncbn
    assert DSBN.plain_norm_cfg(before['heads'][1]) == dict(norm_cfg=bn)


def test_plain_norm_cfg_builds_the_same_branch_layer():
    cfg = dict(type='DSBN', norm_cfg=dict(type='BN'), momentum=0.3, eps=1e-3)
    _, dsbn = build_norm_layer(cfg, 4)
    _, plain = build_norm_layer(DSBN.plain_norm_cfg(cfg), 4)
    assert (plain.momentum, plain.eps) == (dsbn.main.momentum, dsbn.main.eps)
    assert type(plain) is type(dsbn.main)
