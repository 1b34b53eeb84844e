# Copyright (c) mmseg_sb contributors. All rights reserved.
import math

import pytest
import torch

from mmseg.registry import MODELS
from mmseg_sb.models import SelfCorrectionLoss


def reference_loss(pred,
                   target,
                   alpha=1.0,
                   beta=1.0,
                   thresh=0.8,
                   clamp=1e-4,
                   ignore_index=255,
                   avg_non_ignore=False):
    """Pixel by pixel in float64, with the RCE term as the full sum over
    classes of -p_c * log(clamp(onehot_c))."""
    pred = pred.double()
    n, c, h, w = pred.shape
    total = 0.0
    valid_count = 0
    for b in range(n):
        for i in range(h):
            for j in range(w):
                y = int(target[b, i, j])
                if y == ignore_index:
                    continue
                valid_count += 1
                p = torch.softmax(pred[b, :, i, j], dim=0)
                conf = float(p.max())
                wgt = 1.0 if conf > thresh else conf
                ce = -math.log(float(p[y]))
                onehot = torch.zeros(c, dtype=torch.float64)
                onehot[y] = 1
                rce = float(-(p * torch.log(onehot.clamp(clamp, 1))).sum())
                total += alpha * (1 - wgt) * ce + beta * wgt * rce
    denom = valid_count if avg_non_ignore else n * h * w
    return total / denom


def make_inputs(seed=0, n=2, c=5, h=4, w=6, ignore_frac=0.25):
    g = torch.Generator().manual_seed(seed)
    pred = torch.randn(n, c, h, w, generator=g) * 3
    target = torch.randint(0, c, (n, h, w), generator=g)
    ignore = torch.rand(n, h, w, generator=g) < ignore_frac
    target[ignore] = 255
    return pred, target


@pytest.mark.parametrize('avg_non_ignore', [False, True])
@pytest.mark.parametrize('alpha,beta', [(1.0, 1.0), (0.5, 2.0)])
def test_matches_pixelwise_reference(avg_non_ignore, alpha, beta):
    pred, target = make_inputs()
    assert (target == 255).any() and (target != 255).any()
    loss = SelfCorrectionLoss(
        alpha=alpha, beta=beta, avg_non_ignore=avg_non_ignore)
    expected = reference_loss(
        pred, target, alpha, beta, avg_non_ignore=avg_non_ignore)
    assert loss(pred, target).item() == pytest.approx(expected, rel=1e-5)


def test_each_pixel_uses_its_own_weight():
    # The release's (N,1,H,W) x (N,H,W) broadcast mixed images' weights; with
    # two images of different confidence the correct loss differs from it.
    pred, target = make_inputs(seed=3, n=2, ignore_frac=0.0)
    got = SelfCorrectionLoss()(pred, target).item()
    assert got == pytest.approx(reference_loss(pred, target), rel=1e-5)
    prob = pred.softmax(1)
    w = prob.max(1, keepdim=True)[0]
    w = torch.where(w > 0.8, torch.ones_like(w), w)
    p_y = prob.gather(1, target.unsqueeze(1)).squeeze(1)
    broadcast = ((1 - w) * -p_y.log() + w * -math.log(1e-4) *
                 (1 - p_y)).mean()  # shape (N, N, H, W) before the mean
    assert abs(broadcast.item() - got) > 1e-3


def test_confident_pixels_get_only_the_reverse_term():
    # One pixel, class 0 predicted with p > 0.8, pseudo label 1.
    pred = torch.tensor([[[[6.0]], [[1.0]], [[0.0]]]], requires_grad=True)
    target = torch.tensor([[[1]]])
    loss = SelfCorrectionLoss()(pred, target)
    p = torch.softmax(pred.detach()[0, :, 0, 0], 0)
    assert p.max() > 0.8
    assert loss.item() == pytest.approx(
        -math.log(1e-4) * (1 - p[1].item()), rel=1e-6)
    # alpha has no effect on a confident pixel.
    assert SelfCorrectionLoss(alpha=7.0)(pred, target).item() == \
        pytest.approx(loss.item())


def test_gradient_treats_weight_as_constant():
    pred, target = make_inputs(seed=1, n=1, ignore_frac=0.3)
    pred.requires_grad_(True)
    SelfCorrectionLoss()(pred, target).backward()
    # Autograd of the reference with the weight detached by hand.
    x = pred.detach().clone().requires_grad_(True)
    prob = x.softmax(1)
    w = prob.detach().max(1)[0]
    w = torch.where(w > 0.8, torch.ones_like(w), w)
    valid = target != 255
    safe = torch.where(valid, target, torch.zeros_like(target))
    p_y = prob.gather(1, safe.unsqueeze(1)).squeeze(1)
    per_pixel = (1 - w) * -p_y.log() + w * -math.log(1e-4) * (1 - p_y)
    (per_pixel * valid).sum().div(valid.numel()).backward()
    torch.testing.assert_close(pred.grad, x.grad, rtol=1e-5, atol=1e-7)
    # Ignored pixels get no gradient at all.
    ignored = (target == 255).unsqueeze(1).expand_as(pred)
    assert torch.all(pred.grad[ignored] == 0)


def test_ignored_pixels_never_reach_an_index_op():
    # A label far outside [0, C) on ignored pixels must not be indexed.
    pred, target = make_inputs(ignore_frac=0.5)
    target[target == 255] = 1000
    loss = SelfCorrectionLoss()(pred, target, ignore_index=1000)
    assert torch.isfinite(loss)


def test_registered_with_mmseg_loss_contract():
    loss = MODELS.build(
        dict(type='SelfCorrectionLoss', loss_weight=2.0, loss_name='loss_x'))
    pred, target = make_inputs()
    assert loss.loss_name == 'loss_x'
    assert loss(pred, target).item() == pytest.approx(
        2 * reference_loss(pred, target), rel=1e-5)


@pytest.mark.parametrize(
    'kwargs', [dict(conf_thresh=0.0),
               dict(conf_thresh=1.5),
               dict(clamp=0.0)])
def test_bad_arguments(kwargs):
    with pytest.raises(ValueError, match=list(kwargs)[0]):
        SelfCorrectionLoss(**kwargs)


def test_reduction_weight_and_avg_factor_as_mmseg_cross_entropy():
    """The loss contract of MMSeg's CrossEntropyLoss: per-pixel ``weight``,
    ``avg_factor``, ``reduction`` and ``reduction_override``."""
    pred, target = make_inputs(ignore_frac=0.3)
    loss = SelfCorrectionLoss()
    per_pixel = loss(pred, target, reduction_override='none')
    assert per_pixel.shape == target.shape
    assert torch.all(per_pixel[target == 255] == 0)
    # The mean over all pixels is the paper's loss (reference_loss).
    assert per_pixel.mean().item() == pytest.approx(
        reference_loss(pred, target), rel=1e-5)
    torch.testing.assert_close(
        loss(pred, target, reduction_override='sum'), per_pixel.sum())
    torch.testing.assert_close(
        loss(pred, target, avg_factor=7.0),
        per_pixel.sum() / 7.0)
    weight = torch.rand(
        target.shape, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(
        loss(pred, target, weight=weight), (per_pixel * weight).mean())
    valid = (target != 255).sum()
    torch.testing.assert_close(
        SelfCorrectionLoss(avg_non_ignore=True)(pred, target),
        per_pixel.sum() / valid)
    assert 'conf_thresh=0.8' in repr(SelfCorrectionLoss())
    with pytest.raises(ValueError, match="reduction='avg'"):
        SelfCorrectionLoss(reduction='avg')
    with pytest.raises(ValueError, match="reduction_override='avg'"):
        loss(pred, target, reduction_override='avg')
