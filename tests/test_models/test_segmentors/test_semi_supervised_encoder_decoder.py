# Copyright (c) mmseg_sb contributors. All rights reserved.
import copy

import pytest
import torch
import torch.nn.functional as F
from mmengine.structures import PixelData
from torch.nn.modules.batchnorm import _BatchNorm

from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg.utils import add_prefix
from mmseg_sb.models import DSBN, SelfCorrectionLoss


def psp_cfg(cfg):
    """The same backbone with MMSeg's PSPHead and no auxiliary head."""
    cfg['decode_head'] = dict(
        type='PSPHead',
        in_channels=512,
        in_index=3,
        channels=16,
        pool_scales=(1, 2, 3, 6),
        dropout_ratio=0.0,
        num_classes=19,
        norm_cfg=dict(type='BN', requires_grad=True),
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', loss_weight=1.0))
    cfg['auxiliary_head'] = None
    return cfg


def deeplab_cfg(cfg):
    cfg['decode_head']['dropout_ratio'] = 0.0
    cfg['auxiliary_head']['dropout_ratio'] = 0.0
    return cfg


def make_batch(num_sup, num_pseudo, size=32, seed=0, pseudo=None, views=None):
    """``num_sup`` labeled then ``num_pseudo`` pseudo samples, labeled ones
    weak and pseudo ones strong, unless ``pseudo`` / ``views`` list each
    sample's kind and view."""
    pseudo = pseudo or [i >= num_sup for i in range(num_sup + num_pseudo)]
    views = views or ['strong' if p else 'weak' for p in pseudo]
    g = torch.Generator().manual_seed(seed)
    inputs = torch.randn(len(pseudo), 3, size, size, generator=g)
    samples = []
    for is_pseudo, view in zip(pseudo, views):
        label = torch.randint(0, 19, (1, size, size), generator=g)
        label[:, :3] = 255
        s = SegDataSample(
            metainfo=dict(
                img_shape=(size, size),
                ori_shape=(size, size),
                pad_shape=(size, size),
                is_pseudo=is_pseudo,
                view=view))
        s.gt_sem_seg = PixelData(data=label)
        samples.append(s)
    return inputs, samples


def by_view(inputs, samples):
    """The training batch that MultiViewDataPreProcessor gives: images and
    samples by view (weak first, as ``make_batch`` lays them out)."""
    views = [s.metainfo['view'] for s in samples]
    num_weak = views.count('weak')
    assert views == ['weak'] * num_weak + ['strong'] * (len(views) - num_weak)
    parts = dict(weak=slice(0, num_weak), strong=slice(num_weak, None))
    parts = {v: p for v, p in parts.items() if v in views}
    return ({
        v: inputs[p]
        for v, p in parts.items()
    }, {
        v: samples[p]
        for v, p in parts.items()
    })


def plain_twin(semi, cfg, branch='main'):
    """MMSeg's EncoderDecoder with the weights of one DSBN branch."""
    plain_cfg = copy.deepcopy(cfg)
    plain_cfg['type'] = 'EncoderDecoder'
    plain = MODELS.build(plain_cfg)
    state = {}
    for key, value in semi.state_dict().items():
        if key == 'dsbn_aux_trained':
            continue
        if f'.{branch}.' in key:
            state[key.replace(f'.{branch}.', '.')] = value
        elif '.main.' not in key and '.aux.' not in key:
            state[key] = value
    plain.load_state_dict(state, strict=True)
    return plain.train()


@pytest.mark.parametrize('make_cfg', [deeplab_cfg, psp_cfg])
def test_losses_match_mmseg_on_each_part(tiny_model_cfg, make_cfg):
    cfg = make_cfg(tiny_model_cfg)
    torch.manual_seed(0)
    semi = MODELS.build(cfg).train()
    assert not any(
        isinstance(m, _BatchNorm) and not isinstance(p, DSBN)
        for p in semi.modules() for m in p.children())
    inputs, samples = make_batch(2, 2)
    losses = semi.loss(*by_view(inputs, samples))

    sup_ref = plain_twin(semi, cfg, 'main').loss(inputs[:2], samples[:2])
    for key, value in sup_ref.items():
        torch.testing.assert_close(losses[f'sup.{key}'], value)

    # Unsupervised part: the aux branch (a copy of main at this point) on the
    # pseudo samples alone, then the self-correction loss.
    aux_model = plain_twin(semi, cfg, 'aux')
    logits = aux_model.decode_head.forward(aux_model.extract_feat(inputs[2:]))
    logits = F.interpolate(logits, size=(32, 32), mode='bilinear')
    labels = torch.cat([s.gt_sem_seg.data for s in samples[2:]])
    unsup_ref = SelfCorrectionLoss()(logits, labels)
    torch.testing.assert_close(losses['unsup.loss_sc'], unsup_ref)
    expected_keys = {f'sup.{k}' for k in sup_ref} | {'unsup.loss_sc'}
    assert set(losses) == expected_keys


@pytest.mark.parametrize('make_cfg', [deeplab_cfg, psp_cfg])
def test_union_batch_loss_follows_each_samples_kind(tiny_model_cfg, make_cfg):
    """The release's batch: a weak and a strong half, each mixing labeled and
    pseudo-labeled samples."""
    cfg = make_cfg(tiny_model_cfg)
    torch.manual_seed(0)
    semi = MODELS.build(cfg).train()
    with torch.no_grad():  # make the branches differ once aux is started
        semi.loss(*by_view(*make_batch(2, 2)))
        for m in semi.modules():
            if isinstance(m, DSBN):
                m.aux.weight.mul_(1.5)
    pseudo = [True, False, False, True, False]
    views = ['weak', 'weak', 'strong', 'strong', 'strong']
    inputs, samples = make_batch(0, 0, pseudo=pseudo, views=views)
    losses = semi.loss(*by_view(inputs, samples))

    # Reference: each half through its own branch (its own batch
    # statistics), then each sample's loss by its kind.
    main, aux = plain_twin(semi, cfg, 'main'), plain_twin(semi, cfg, 'aux')
    logits = torch.cat([
        main.decode_head.forward(main.extract_feat(inputs[:2])),
        aux.decode_head.forward(aux.extract_feat(inputs[2:]))
    ])
    aux_logits = None
    if semi.with_auxiliary_head:
        aux_logits = torch.cat([
            main.auxiliary_head.forward(main.extract_feat(inputs[:2])),
            aux.auxiliary_head.forward(aux.extract_feat(inputs[2:]))
        ])
    sup, unsup = [1, 2, 4], [0, 3]
    sup_samples = [samples[i] for i in sup]
    sup_ref = add_prefix(
        main.decode_head.loss_by_feat(logits[sup], sup_samples), 'decode')
    if aux_logits is not None:
        sup_ref.update(
            add_prefix(
                main.auxiliary_head.loss_by_feat(aux_logits[sup], sup_samples),
                'aux'))
    for key, value in sup_ref.items():
        torch.testing.assert_close(losses[f'sup.{key}'], value)
    unsup_logits = F.interpolate(logits[unsup], size=(32, 32), mode='bilinear')
    labels = torch.cat([samples[i].gt_sem_seg.data for i in unsup])
    torch.testing.assert_close(losses['unsup.loss_sc'],
                               SelfCorrectionLoss()(unsup_logits, labels))
    assert set(losses) == {f'sup.{k}' for k in sup_ref} | {'unsup.loss_sc'}
    # A batch of pseudo-labeled samples only has no supervised loss.
    only_pseudo = semi.loss(*by_view(*make_batch(
        0, 0, pseudo=[True] * 4, views=['weak', 'weak', 'strong', 'strong'])))
    assert set(only_pseudo) == {'unsup.loss_sc'}


def test_labeled_only_batch_is_mmseg_supervised(tiny_model_cfg):
    cfg = deeplab_cfg(tiny_model_cfg)
    semi = MODELS.build(cfg).train()
    inputs, samples = make_batch(4, 0)
    losses = semi.loss(*by_view(inputs, samples))
    ref = plain_twin(semi, cfg).loss(inputs, samples)
    assert set(losses) == {f'sup.{k}' for k in ref}
    for key, value in ref.items():
        torch.testing.assert_close(losses[f'sup.{key}'], value)
    assert not bool(semi.dsbn_aux_trained)


def test_unsup_weight_and_gradients(tiny_model_cfg):
    cfg = deeplab_cfg(tiny_model_cfg)
    torch.manual_seed(0)
    base = MODELS.build(cfg).train()
    cfg2 = copy.deepcopy(cfg)
    cfg2['semi_train_cfg'] = dict(unsup_weight=0.5)
    weighted = MODELS.build(cfg2).train()
    weighted.load_state_dict(base.state_dict())
    inputs, samples = make_batch(2, 2)
    full = base.loss(*by_view(inputs, samples))
    half = weighted.loss(*by_view(inputs, samples))
    torch.testing.assert_close(half['unsup.loss_sc'],
                               0.5 * full['unsup.loss_sc'])
    sum(v for k, v in full.items() if 'loss' in k).backward()
    bn = base.backbone.layer1[0].bn1
    assert bn.main.weight.grad.abs().sum() > 0
    assert bn.aux.weight.grad.abs().sum() > 0


def test_sup_weight_scales_the_labeled_losses_only(tiny_model_cfg):
    cfg = deeplab_cfg(tiny_model_cfg)
    base = MODELS.build(cfg).train()
    cfg['semi_train_cfg'] = dict(sup_weight=2.0)
    weighted = MODELS.build(cfg).train()
    weighted.load_state_dict(base.state_dict())
    inputs, samples = make_batch(2, 2)
    batch = by_view(inputs, samples)
    a, b = base.loss(*batch), weighted.loss(*batch)
    assert list(a) == list(b)
    for key in ('sup.decode.loss_ce', 'sup.aux.loss_ce'):
        torch.testing.assert_close(b[key], 2.0 * a[key])
    for key in ('sup.decode.acc_seg', 'sup.aux.acc_seg', 'unsup.loss_sc'):
        torch.testing.assert_close(b[key], a[key])


def test_aux_branch_starts_as_copy_of_trained_main(tiny_model_cfg):
    semi = MODELS.build(deeplab_cfg(tiny_model_cfg)).train()
    bn = semi.backbone.layer1[0].bn1
    with torch.no_grad():  # as if round 0 had trained main
        bn.main.weight.add_(1.0)
    semi.loss(*by_view(*make_batch(2, 2)))
    torch.testing.assert_close(bn.aux.weight, bn.main.weight)
    assert bool(semi.dsbn_aux_trained)
    with torch.no_grad():  # aux trained now: not overwritten again
        bn.aux.weight.add_(5.0)
    semi.loss(*by_view(*make_batch(2, 2)))
    assert not torch.allclose(bn.aux.weight, bn.main.weight)


def test_predict_matches_encoder_decoder(tiny_model_cfg):
    cfg = deeplab_cfg(tiny_model_cfg)
    semi = MODELS.build(cfg)
    with torch.no_grad():
        for m in semi.modules():
            if isinstance(m, DSBN):
                m.aux.running_mean.fill_(100.0)  # must not be used
    semi.eval()
    plain = plain_twin(semi, cfg).eval()
    inputs, samples = make_batch(2, 0)
    got = semi.predict(inputs, copy.deepcopy(samples))
    ref = plain.predict(inputs, copy.deepcopy(samples))
    for a, b in zip(got, ref):
        torch.testing.assert_close(a.seg_logits.data, b.seg_logits.data)
    cfg['test_cfg'] = dict(mode='slide', crop_size=(24, 24), stride=(16, 16))
    semi_slide = MODELS.build(cfg).eval()
    semi_slide.load_state_dict(semi.state_dict())
    out = semi_slide.predict(inputs, copy.deepcopy(samples))
    assert out[0].pred_sem_seg.data.shape == (1, 32, 32)


def test_views_other_than_weak_and_strong_raise(tiny_model_cfg):
    semi = MODELS.build(deeplab_cfg(tiny_model_cfg)).train()
    inputs, samples = by_view(*make_batch(2, 2))
    inputs['medium'], samples['medium'] = inputs['weak'], samples['weak']
    with pytest.raises(
            ValueError, match="got \\['medium', 'strong', 'weak'\\]"):
        semi.loss(inputs, samples)


def test_plain_batch_is_all_weak(tiny_model_cfg):
    """A plain batch (the teacher's loader) trains like a weak view."""
    cfg = deeplab_cfg(tiny_model_cfg)
    semi = MODELS.build(cfg).train()
    inputs, samples = make_batch(4, 0)
    plain = semi.loss(inputs, samples)
    views = semi.loss(*by_view(inputs, samples))
    assert list(plain) == list(views)
    for key, value in plain.items():
        torch.testing.assert_close(views[key], value)
    assert not bool(semi.dsbn_aux_trained)


def test_without_dsbn_and_bad_semi_cfg(tiny_model_cfg):
    cfg = deeplab_cfg(tiny_model_cfg)
    cfg['semi_train_cfg'] = dict(use_dsbn=False)
    semi = MODELS.build(cfg)
    assert not any(isinstance(m, DSBN) for m in semi.modules())
    semi.train().loss(*by_view(*make_batch(2, 2)))
    cfg['semi_train_cfg'] = dict(use_dsbm=True)
    with pytest.raises(ValueError, match='use_dsbm'):
        MODELS.build(cfg)
    cfg['semi_train_cfg'] = dict(use_dsbn='yes')
    with pytest.raises(TypeError, match="use_dsbn='yes' must be True"):
        MODELS.build(cfg)
    cfg['semi_train_cfg'] = dict(unsup_weight=-1)
    with pytest.raises(ValueError, match=r'unsup_weight=-1 must be in \[0'):
        MODELS.build(cfg)
    cfg['semi_train_cfg'] = 1.0
    with pytest.raises(TypeError, match='semi_train_cfg must be a dict'):
        MODELS.build(cfg)


def logged(build):
    """The messages logged while ``build()`` runs, and its result."""
    import logging

    from mmengine.logging import MMLogger
    messages = []
    handler = logging.Handler(logging.INFO)
    handler.emit = lambda record: messages.append(
        (record.levelno, record.getMessage()))
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    try:
        return build(), messages
    finally:
        logger.removeHandler(handler)


def test_dsbn_conversion_is_logged_per_part(tiny_model_cfg):
    """Every BatchNorm becomes a DSBN, counted per part against the plain
    model's BatchNorms; GroupNorm stays as it is."""
    from torch.nn.modules.batchnorm import _BatchNorm
    cfg = deeplab_cfg(tiny_model_cfg)
    cfg['auxiliary_head']['norm_cfg'] = dict(
        type='GN', num_groups=4, requires_grad=True)
    plain = MODELS.build(dict(cfg, type='EncoderDecoder'))
    expected = {
        part: sum(isinstance(m, _BatchNorm) for m in module.modules())
        for part, module in plain.named_children()
    }
    semi, messages = logged(lambda: MODELS.build(cfg))
    assert expected['auxiliary_head'] == 0 and expected['backbone'] > 0
    text = (f'{sum(expected.values())} BatchNorm layers made DSBN (backbone '
            f'{expected["backbone"]}, decode_head {expected["decode_head"]})')
    assert any(text in m for _, m in messages), messages
    assert sum(isinstance(m, DSBN)
               for m in semi.modules()) == sum(expected.values())
    assert sum(isinstance(m, torch.nn.GroupNorm) for m in semi.modules()) > 0


def test_a_model_without_batchnorm_is_warned(tiny_model_cfg):
    import logging
    cfg = deeplab_cfg(tiny_model_cfg)
    for part in ('backbone', 'decode_head', 'auxiliary_head'):
        cfg[part]['norm_cfg'] = dict(
            type='GN', num_groups=4, requires_grad=True)
    semi, messages = logged(lambda: MODELS.build(cfg))
    assert not any(isinstance(m, DSBN) for m in semi.modules())
    assert any(level == logging.WARNING and 'no BatchNorm layer' in m
               for level, m in messages)
