# Copyright (c) mmseg_sb contributors. All rights reserved.
"""Gradient accumulation (``optim_wrapper.accumulative_counts``) with the
Simple Baseline: every loader batch is a whole ``[weak | strong]`` batch, so
each micro-batch keeps the layout and DSBN splits it at its own boundary."""
import copy

import numpy as np
import torch
from mmengine.dataset import pseudo_collate
from mmengine.optim import OptimWrapper
from torch.nn.modules.batchnorm import _BatchNorm

from mmseg.registry import MODELS, TRANSFORMS
from mmseg_sb.models import DSBN
from mmseg_sb.utils import IS_PSEUDO, STRONG, WEAK

SIZE = 32


def loader_sample(view, is_pseudo, rng):
    """One sample as the student loader gives it: a random image and a label
    map without ignored pixels, packed as its view by ``MultiView``."""
    pack = TRANSFORMS.build(
        dict(type='MultiView', views={view: [dict(type='PackSegInputs')]}))
    img = rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)
    label = rng.integers(0, 19, (SIZE, SIZE), dtype=np.uint8)
    packed = pack(
        dict(
            img=img,
            img_shape=img.shape[:2],
            ori_shape=img.shape[:2],
            gt_seg_map=label,
            seg_fields=['gt_seg_map']))
    # PseudoLabeledDataset marks its samples after the pipeline.
    packed['data_samples'][view].set_metainfo({IS_PSEUDO: is_pseudo})
    return packed


def loader_batch(weak, strong):
    """A collated ``[weak | strong]`` batch, as MultiSourceSampler orders
    it."""
    return pseudo_collate(weak + strong)


def frozen_model(cfg):
    """The Simple Baseline with eval-mode BN (each sample's output does not
    depend on its batch), no dropout, CE averaged over valid pixels (the
    Cityscapes configs'), and DSBN branches that differ, so that a sample
    sent through the wrong branch would change the gradient."""
    cfg = copy.deepcopy(cfg)
    for head in ('decode_head', 'auxiliary_head'):
        cfg[head]['dropout_ratio'] = 0.0
        cfg[head]['loss_decode']['avg_non_ignore'] = True
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    with torch.no_grad():
        for layer in model.modules():
            if isinstance(layer, DSBN):
                layer.aux.weight.mul_(1.5)
                layer.aux.running_mean.add_(0.1)
        model.dsbn_aux_trained.fill_(True)  # keep aux as it is
    model.train()
    for layer in model.modules():
        if isinstance(layer, _BatchNorm):
            layer.eval()
    return model


def train(model, batches, accumulative_counts):
    """``model.train_step`` on each loader batch with MMEngine's
    OptimWrapper. Returns the gradients the optimizer stepped with (a list
    per step), the DSBN split (weak samples, batch size) of every forward
    pass, and the number of steps taken after each batch."""
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    wrapper = OptimWrapper(optimizer, accumulative_counts=accumulative_counts)
    steps, splits = [], []

    def record_step(optimizer, args, kwargs):
        steps.append(
            [p.grad.clone() for p in model.parameters() if p.grad is not None])

    def record_split(layer, args):
        splits.append((layer.num_main, len(args[0])))

    optimizer.register_step_pre_hook(record_step)
    next(m for m in model.modules()
         if isinstance(m, DSBN)).register_forward_pre_hook(record_split)
    steps_after = []
    for batch in batches:
        model.train_step(batch, wrapper)
        steps_after.append(len(steps))
    return steps, splits, steps_after


def test_two_micro_batches_give_the_gradient_of_one_batch(tiny_model_cfg):
    """2 micro-batches of [2 weak | 2 strong] accumulated (MMEngine divides
    each loss by 2 and steps every 2nd call) give the gradient of the batch
    of [4 weak | 4 strong] holding the same samples. This holds because
    every loss is a mean over the same number of pixels in each micro-batch:
    each has as many labeled and as many pseudo-labeled samples, and no
    ignored pixels (with ``avg_non_ignore=True``, the Cityscapes configs', a
    micro-batch with more ignored pixels would weigh its pixels more)."""
    rng = np.random.default_rng(0)
    # Each micro-batch: weak [labeled, pseudo], strong [pseudo, labeled].
    micro = []
    for _ in range(2):
        weak = [loader_sample(WEAK, p, rng) for p in (False, True)]
        strong = [loader_sample(STRONG, p, rng) for p in (True, False)]
        micro.append((weak, strong))
    whole = loader_batch(micro[0][0] + micro[1][0], micro[0][1] + micro[1][1])

    model = frozen_model(tiny_model_cfg)
    accumulated = copy.deepcopy(model)
    (grads, ), splits, _ = train(model, [whole], accumulative_counts=1)
    steps, micro_splits, steps_after = train(
        accumulated, [loader_batch(*m) for m in micro], accumulative_counts=2)

    # DSBN splits each forward at its own weak/strong boundary.
    assert splits == [(4, 8)]
    assert micro_splits == [(2, 4), (2, 4)]
    # One optimizer step, after the second micro-batch.
    assert steps_after == [0, 1]
    assert len(grads) == len(steps[0]) > 0
    for full, acc in zip(grads, steps[0]):
        torch.testing.assert_close(acc, full, rtol=1e-4, atol=1e-7)
    # The parameters moved the same way.
    for a, b in zip(model.parameters(), accumulated.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-8)
