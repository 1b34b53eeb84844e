# Copyright (c) mmseg_sb contributors. All rights reserved.
"""The segmentors under autocast (what ``--amp`` and
``optim_wrapper.dtype='bfloat16'`` run), on the CPU in bfloat16: each
loss against float32 on the same batch and weights, gradients, UniMatch's
confidence threshold, DSBN.

bfloat16 keeps 8 significant bits: every conv and matmul rounds its inputs
by up to 2**-9 of their value, and through the tiny DeepLabV3+ the logits
move by up to 7% of their largest magnitude (measured). The tolerances
below are the largest differences measured over 8 seeds, times 2 to 4.
"""
import copy

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.structures import PixelData
from torch.nn.modules.batchnorm import _BatchNorm

from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg_sb.models import DSBN, dsbn_split

SIZE = 32
BF16 = dict(device_type='cpu', dtype=torch.bfloat16)
#: Relative difference of each loss, bf16 against fp32 (measured at most
#: 8.4e-3 over 8 seeds: the self-correction loss 8.0e-3, UniMatch's strong
#: view 8.4e-3, MMSeg's CE 5.2e-3).
LOSS_RTOL = 3e-2
#: Least cosine between the bf16 and fp32 gradients of all parameters
#: (measured 0.86 to 0.96): the same descent direction, give or take the
#: rounding of every layer's activations.
GRAD_COSINE = 0.75
#: Distance of a pixel's fp32 confidence from the threshold within which
#: bf16 may put it on the other side: twice the largest confidence change
#: measured (0.050, with logits up to 7 in magnitude; the farthest pixel
#: that changed side was 0.048 from the threshold).
CONF_MARGIN = 0.1


def sample(label=None, img_shape=(SIZE, SIZE), **metainfo):
    s = SegDataSample(
        metainfo=dict(
            img_shape=img_shape,
            ori_shape=img_shape,
            pad_shape=(SIZE, SIZE),
            **metainfo))
    if label is not None:
        s.gt_sem_seg = PixelData(data=label)
    return s


def sb_batch(seed=0):
    """The Simple Baseline's batch [weak | strong], each half holding a
    labeled and a pseudo-labeled sample (ignored top rows)."""
    g = torch.Generator().manual_seed(seed)
    inputs = torch.randn(4, 3, SIZE, SIZE, generator=g)
    samples = []
    for is_pseudo in (True, False, False, True):
        label = torch.randint(0, 19, (1, SIZE, SIZE), generator=g)
        label[:, :3] = 255
        samples.append(sample(label, is_pseudo=is_pseudo))
    return (dict(weak=inputs[:2], strong=inputs[2:]),
            dict(weak=samples[:2], strong=samples[2:]))


def online_batch(strong_views, seed=0):
    """UniMatch's views: 2 labeled images, and 3 unlabeled ones (the last
    padded on the right) in a weak view and strong views, with a CutMix
    box in the first strong view of image 0."""
    g = torch.Generator().manual_seed(seed)
    inputs = dict(sup=torch.randn(2, 3, SIZE, SIZE, generator=g))
    samples = dict(sup=[
        sample(torch.randint(0, 19, (1, SIZE, SIZE), generator=g))
        for _ in range(2)
    ])
    shapes = [(SIZE, SIZE), (SIZE, SIZE), (SIZE, 20)]
    inputs['weak'] = torch.randn(3, 3, SIZE, SIZE, generator=g)
    samples['weak'] = [sample(img_shape=s) for s in shapes]
    for k in range(1, strong_views + 1):
        view = f'strong_{k}'
        inputs[view] = inputs['weak'] + 0.3 * torch.randn(
            3, 3, SIZE, SIZE, generator=g)
        samples[view] = [
            sample(
                img_shape=s,
                cutmix_box=(4, 8, 20, 24) if i == 0 and k == 1 else None)
            for i, s in enumerate(shapes)
        ]
    return inputs, samples


def build(tiny_model_cfg, type, **semi_train_cfg):
    """The tiny DeepLabV3+ as ``type``, without dropout."""
    cfg = copy.deepcopy(tiny_model_cfg)
    cfg['type'] = type
    cfg['decode_head']['dropout_ratio'] = 0.0
    cfg['auxiliary_head']['dropout_ratio'] = 0.0
    if type != 'SemiSupervisedEncoderDecoder':
        cfg['auxiliary_head'] = None
    if semi_train_cfg:
        cfg['semi_train_cfg'] = semi_train_cfg
    torch.manual_seed(0)
    return MODELS.build(cfg)


def frozen(model, images):
    """Eval-mode BN whose statistics are those of ``images`` (so that the
    activations are normalised, as in a trained model), and a classifier
    scaled up 10 times, so that the confidences spread over 0.06-0.9 as a
    trained model's do rather than sitting near 1/19."""
    model.train()
    bns = [m for m in model.modules() if isinstance(m, _BatchNorm)]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None  # a cumulative average: this batch's statistics
    with torch.no_grad():
        model.extract_feat(images)
        model.decode_head.conv_seg.weight.mul_(10)
    for bn in bns:
        bn.momentum = 0.1
        bn.eval()
    return model


def losses_and_grads(model, batch, autocast):
    """``model.loss`` (under bf16 autocast or not), its summed losses
    back-propagated; the losses and each parameter's gradient."""
    model.zero_grad()
    with torch.autocast(**BF16, enabled=autocast):
        losses = model.loss(*copy.deepcopy(batch))
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    grads = {
        n: p.grad.clone()
        for n, p in model.named_parameters() if p.grad is not None
    }
    return losses, grads


@pytest.mark.parametrize('type', [
    'SemiSupervisedEncoderDecoder', 'UniMatchEncoderDecoder',
    'FixMatchEncoderDecoder'
])
def test_losses_and_gradients_under_bf16_autocast(tiny_model_cfg, type):
    if type == 'SemiSupervisedEncoderDecoder':
        model = build(tiny_model_cfg, type)
        batch = sb_batch()
        images = torch.cat(list(batch[0].values()))
    else:
        # conf_thresh 0.05 < 1/19 keeps every pixel (the release's
        # Cityscapes setting), so that the losses compare numerics alone;
        # the threshold is tested below.
        model = build(tiny_model_cfg, type, conf_thresh=0.05)
        batch = online_batch(len(model.strong_views))
        images = torch.cat([batch[0]['sup'], batch[0]['weak']])
        model.feature_dropout = 0.0  # the same features in both runs
    model = frozen(model, images)
    fp32, fp32_grads = losses_and_grads(model, batch, autocast=False)
    bf16, bf16_grads = losses_and_grads(model, batch, autocast=True)

    assert set(bf16) == set(fp32)
    names = [k for k in fp32 if 'loss' in k]
    assert len(names) >= 2  # a supervised and an unsupervised loss
    for name in names:
        # Losses are computed in float32 under autocast: cross-entropy
        # (MMSeg's, UniMatch's) by torch's autocast policy, the
        # self-correction loss by its own cast of the logits.
        assert bf16[name].dtype == torch.float32, name
        assert torch.isfinite(bf16[name]), name
        torch.testing.assert_close(
            bf16[name], fp32[name], rtol=LOSS_RTOL, atol=0, msg=name)
    assert set(bf16_grads) == set(fp32_grads)
    flat_fp32 = torch.cat([g.flatten() for g in fp32_grads.values()])
    flat_bf16 = torch.cat([g.flatten() for g in bf16_grads.values()])
    assert torch.isfinite(flat_bf16).all()
    assert F.cosine_similarity(flat_bf16, flat_fp32, dim=0) > GRAD_COSINE


def test_confidence_threshold_under_bf16_autocast(tiny_model_cfg):
    model = build(tiny_model_cfg, 'UniMatchEncoderDecoder')
    inputs, _ = online_batch(strong_views=2)
    model = frozen(model, torch.cat([inputs['sup'], inputs['weak']]))
    size = (SIZE, SIZE)
    with torch.no_grad():
        logits = model.decode_head.forward(model.extract_feat(inputs['weak']))
        _, conf_fp32 = model._pseudo_labels(logits, size)
        with torch.autocast(**BF16):
            logits_bf16 = model.decode_head.forward(
                model.extract_feat(inputs['weak']))
            _, conf = model._pseudo_labels(logits_bf16, size)
    # The confidence is a float32 softmax of the bf16 logits: no rounding
    # to bf16 (steps of 0.004 near 0.95) before the threshold.
    assert logits_bf16.dtype == torch.bfloat16
    assert conf.dtype == torch.float32
    reference = F.interpolate(
        logits_bf16.float(), size, mode='bilinear',
        align_corners=False).softmax(1).amax(1)
    torch.testing.assert_close(conf, reference)
    # The same pixels pass the threshold, but those whose fp32 confidence
    # is within CONF_MARGIN of it. The thresholds sit in the upper tail of
    # the confidences, as the paper's 0.95 does for a trained model.
    for q in (0.9, 0.97):
        thresh = torch.quantile(conf_fp32.flatten(), q).item()
        differ = (conf >= thresh) != (conf_fp32 >= thresh)
        near = (conf_fp32 - thresh).abs() <= CONF_MARGIN
        assert not (differ & ~near).any(), (q, thresh)
        # The margin leaves pixels to check (here 30% and 15% lie in it).
        assert near.float().mean() < 0.9


def test_dsbn_splits_under_bf16_autocast():
    """Under autocast, a DSBN after a conv gets bf16 activations: each half
    is normalised by its own branch, whose running statistics stay float32
    and follow that half only."""
    torch.manual_seed(0)
    conv, dsbn = nn.Conv2d(3, 4, 3), DSBN(4)
    with torch.no_grad():
        dsbn.aux.weight.mul_(2.0)
    main, aux = copy.deepcopy(dsbn.main), copy.deepcopy(dsbn.aux)
    dsbn.train()
    x = torch.cat([torch.randn(2, 3, 8, 8), 3 * torch.randn(3, 3, 8, 8) + 1])
    with torch.autocast(**BF16):
        features = conv(x)
        with dsbn_split(dsbn, 2):
            out = dsbn(features)
        reference = torch.cat([main(features[:2]), aux(features[2:])])
    assert features.dtype == torch.bfloat16
    torch.testing.assert_close(out, reference, rtol=0, atol=0)
    for ours, theirs in ((dsbn.main, main), (dsbn.aux, aux)):
        for key in ('running_mean', 'running_var'):
            assert getattr(ours, key).dtype == torch.float32
            torch.testing.assert_close(
                getattr(ours, key), getattr(theirs, key), rtol=0, atol=0)
    assert not torch.allclose(dsbn.main.running_mean, dsbn.aux.running_mean)
    out.float().square().mean().backward()
    for branch in (dsbn.main, dsbn.aux):
        assert torch.isfinite(branch.weight.grad).all()
        assert branch.weight.grad.abs().sum() > 0


def test_simple_baseline_trains_dsbn_under_bf16_autocast(tiny_model_cfg):
    """A training step in bf16 with batch statistics (DSBN in train mode):
    losses near fp32's, finite gradients for both branches, running
    statistics finite and float32."""
    model = build(tiny_model_cfg, 'SemiSupervisedEncoderDecoder').train()
    reference = copy.deepcopy(model)
    batch = sb_batch()
    fp32, _ = losses_and_grads(reference, batch, autocast=False)
    bf16, _ = losses_and_grads(model, batch, autocast=True)
    for name in (k for k in fp32 if 'loss' in k):
        torch.testing.assert_close(
            bf16[name], fp32[name], rtol=LOSS_RTOL, atol=0, msg=name)
    layers = [m for m in model.modules() if isinstance(m, DSBN)]
    for layer in layers:
        for branch in (layer.main, layer.aux):
            assert branch.running_var.dtype == torch.float32
            assert torch.isfinite(branch.running_mean).all()
            assert torch.isfinite(branch.running_var).all()
            assert torch.isfinite(branch.weight.grad).all()
    assert any(layer.aux.weight.grad.abs().sum() > 0 for layer in layers)
