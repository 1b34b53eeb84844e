# Copyright (c) mmseg_sb contributors. All rights reserved.
"""MMSeg's own model configs (from the installed package's ``.mim/configs``)
trained by every method of this package, shrunk for a CPU only in image size
(and SETR's depth): one training step with finite losses, a gradient on
every parameter the plain MMSeg model trains, export and a strict load into
the plain segmentor, and the same predictions as the plain model. Families
not supported yet are refused at build with a message that names them.

:data:`FAMILIES` is the one list of families and how each trains; README's
table is checked against it.
"""
import copy
import os.path as osp
import re

import pytest
import torch
from mmengine.config import Config, ConfigDict
from mmengine.structures import PixelData

import mmseg
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg_sb.models import (FixMatchCascadeEncoderDecoder,
                             FixMatchEncoderDecoder,
                             SemiSupervisedCascadeEncoderDecoder,
                             SemiSupervisedEncoderDecoder,
                             UniMatchCascadeEncoderDecoder,
                             UniMatchEncoderDecoder)
from mmseg_sb.models.layers import DSBN
from mmseg_sb.models.utils import train_logits
from mmseg_sb.utils import IS_PSEUDO, STRONG, SUP, WEAK, iter_dicts

MMSEG_CONFIGS = osp.join(osp.dirname(mmseg.__file__), '.mim', 'configs')
README = osp.join(
    osp.dirname(osp.dirname(osp.dirname(osp.dirname(__file__)))), 'README.md')
SIZE = 64
NUM = 2  # images per part of a batch
METHODS = (SemiSupervisedEncoderDecoder, UniMatchEncoderDecoder,
           FixMatchEncoderDecoder)
#: Method -> its class for MMSeg's CascadeEncoderDecoder (OCRNet, PointRend).
CASCADES = {
    SemiSupervisedEncoderDecoder: SemiSupervisedCascadeEncoderDecoder,
    UniMatchEncoderDecoder: UniMatchCascadeEncoderDecoder,
    FixMatchEncoderDecoder: FixMatchCascadeEncoderDecoder,
}

#: How each family's decode head is trained: 'logits' (one logits tensor,
#: MMSeg's loss on it), 'outputs' (several training outputs: the head's
#: own loss on all of them, the method's on the logits ``predict`` uses),
#: 'head loss' (a mask-classification head: its own ``loss`` on labeled
#: and hard pseudo labels; only the methods with ``trains_mask_heads``).
LOGITS, OUTPUTS, HEAD_LOSS = 'logits', 'outputs', 'head loss'

#: Family -> (MMSeg config, how it trains, shrink overrides).
FAMILIES = {
    'FCN': ('fcn/fcn_r50-d8_4xb2-40k_cityscapes-512x1024.py', LOGITS, {}),
    'PSPNet': ('pspnet/pspnet_r50-d8_4xb2-40k_cityscapes-512x1024.py', LOGITS,
               {}),
    'DeepLabV3': ('deeplabv3/deeplabv3_r50-d8_4xb2-40k_cityscapes-512x1024.py',
                  LOGITS, {}),
    'DeepLabV3+':
    ('deeplabv3plus/deeplabv3plus_r50-d8_4xb2-40k_cityscapes-512x1024.py',
     LOGITS, {}),
    'UPerNet': ('upernet/upernet_r50_4xb2-40k_cityscapes-512x1024.py', LOGITS,
                {}),
    'SegFormer':
    ('segformer/segformer_mit-b0_8xb1-160k_cityscapes-1024x1024.py', LOGITS,
     {}),
    'Segmenter': ('segmenter/segmenter_vit-t_mask_8xb1-160k_ade20k-512x512.py',
                  LOGITS, {}),
    'SETR': ('setr/setr_vit-l_naive_8xb1-80k_cityscapes-768x768.py', LOGITS, {
        'backbone.num_layers': 4,
        'backbone.out_indices': (0, 1, 2, 3)
    }),
    'Swin (UPerNet)':
    ('swin/swin-tiny-patch4-window7-in1k-pre_upernet_8xb2-160k_ade20k-'
     '512x512.py', LOGITS, {}),
    'BiSeNetV2': ('bisenetv2/bisenetv2_fcn_4xb4-160k_cityscapes-1024x1024.py',
                  LOGITS, {}),
    'STDC': ('stdc/stdc1_4xb12-80k_cityscapes-512x1024.py', LOGITS, {}),
    'DANet': ('danet/danet_r50-d8_4xb2-40k_cityscapes-512x1024.py', OUTPUTS,
              {}),
    'EncNet': ('encnet/encnet_r50-d8_4xb2-40k_cityscapes-512x1024.py', OUTPUTS,
               {}),
    'DDRNet':
    ('ddrnet/ddrnet_23-slim_in1k-pre_2xb6-120k_cityscapes-1024x1024.py',
     OUTPUTS, {}),
    'PIDNet': ('pidnet/pidnet-s_2xb6-120k_1024x1024-cityscapes.py', OUTPUTS,
               {}),
    'K-Net': ('knet/knet-s3_r50-d8_fcn_8xb2-adamw-80k_ade20k-512x512.py',
              OUTPUTS, {}),
    'Mask2Former': ('mask2former/mask2former_r50_8xb2-90k_cityscapes-'
                    '512x1024.py', HEAD_LOSS, {}),
    # CascadeEncoderDecoder: the method reads the last stage's logits
    # (OCRNet's OCR head; PointRend's FPN head, before its point head).
    'OCRNet': ('ocrnet/ocrnet_hr18s_4xb2-40k_cityscapes-512x1024.py', LOGITS,
               {}),
    'PointRend': ('point_rend/pointrend_r50_4xb2-80k_cityscapes-512x1024.py',
                  LOGITS, {}),
}
#: Cascade family -> the stage whose logits the methods read.
CASCADE_LOGITS_STAGE = {'OCRNet': 1, 'PointRend': 0}

#: Family -> (MMSeg config, the refusal's message).
REFUSED = {
    'SAN':
    ('san/san-vit-b16_coco-stuff164k-640x640.py', 'of another segmentor type'),
}


def trains(family: str, method: type) -> bool:
    """Whether ``method`` trains ``family`` (or refuses it when built)."""
    return family in FAMILIES and (FAMILIES[family][1] != HEAD_LOSS
                                   or method.trains_mask_heads)


def cases(trained: bool) -> list:
    return [
        pytest.param(family, method, id=f'{family}-{method.method_name}')
        for family in (*FAMILIES, *REFUSED) for method in METHODS
        if trains(family, method) == trained
    ]


def needs_mmdet(family: str) -> None:
    if family == 'Mask2Former':
        # MMSeg builds Mask2Former only with mmdet 3.x (plain MMSeg fails
        # without it too).
        pytest.importorskip('mmdet', reason='Mask2Former needs mmdet 3.x')


def zoo_model_cfg(path: str, overrides: dict) -> dict:
    """The model of MMSeg's config ``path`` without pretrained weights,
    tested whole, with ``overrides`` (dotted keys) applied."""
    cfg = Config.fromfile(osp.join(MMSEG_CONFIGS, path))
    cfg.merge_from_dict({f'model.{k}': v for k, v in overrides.items()})
    model = cfg.model.to_dict()
    model.pop('pretrained', None)
    for d in iter_dicts(model):
        if isinstance(d.get('init_cfg'), dict) and \
                d['init_cfg'].get('type') == 'Pretrained':
            d['init_cfg'] = None
    model['test_cfg'] = dict(model.get('test_cfg') or {}, mode='whole')
    return model


def method_cfg(path: str, overrides: dict, method: type) -> ConfigDict:
    """The zoo model of ``path`` as ``method`` trains it: the method's class
    for MMSeg's CascadeEncoderDecoder if the model is one."""
    model = zoo_model_cfg(path, overrides)
    if model['type'] == 'CascadeEncoderDecoder':
        method = CASCADES[method]
    return ConfigDict(model, type=method.__name__)


def sample(labeled: bool, **metainfo) -> SegDataSample:
    shape = (SIZE, SIZE)
    s = SegDataSample(
        metainfo=dict(
            img_shape=shape, ori_shape=shape, pad_shape=shape, **metainfo))
    if labeled:
        label = torch.randint(0, 19, (1, ) + shape)
        s.gt_sem_seg = PixelData(data=label)
        # PIDNet's boundary loss reads MMSeg's GenerateEdge output.
        edge = torch.zeros_like(label)
        edge[:, :, 1:] = label[:, :, 1:] != label[:, :, :-1]
        s.gt_edge_map = PixelData(data=edge)
    return s


def make_batch(model):
    """A training batch of ``model``'s layout, and its labeled part."""
    images = lambda: torch.randn(NUM, 3, SIZE, SIZE)  # noqa: E731
    labeled = [sample(True) for _ in range(NUM)]
    if isinstance(model, SemiSupervisedEncoderDecoder):
        inputs = {WEAK: images(), STRONG: images()}
        samples = {
            WEAK: labeled,
            STRONG: [sample(True, **{IS_PSEUDO: True}) for _ in range(NUM)]
        }
        return inputs, samples, (inputs[WEAK], labeled)
    inputs = {v: images() for v in (SUP, WEAK) + model.strong_views}
    samples = {v: [sample(False) for _ in range(NUM)] for v in inputs}
    samples[SUP] = labeled
    return inputs, samples, (inputs[SUP], labeled)


def with_grad(model) -> set:
    """Names, in the plain model's terms, of the parameters with a
    gradient (a DSBN's ``main`` branch stands for the plain norm layer)."""
    has = {n: p.grad is not None for n, p in model.named_parameters()}
    return {n for n, g in DSBN.plain_state_dict(has).items() if g}


@pytest.mark.slow
@pytest.mark.parametrize('family, method', cases(trained=True))
def test_zoo_family_trains_exports_and_predicts(family, method):
    needs_mmdet(family)
    path, how, overrides = FAMILIES[family]
    cfg = method_cfg(path, overrides, method)
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    method = type(model)
    model.train()
    inputs, samples, (sup_images, sup_samples) = make_batch(model)
    if how != HEAD_LOSS:  # the table says what the head gives
        outputs = model.decode_forward(model.extract_feat(sup_images))[-1]
        assert isinstance(outputs, torch.Tensor) == (how == LOGITS)
    losses = model.loss(inputs, samples)
    total, _ = model.parse_losses(losses)
    for name, value in losses.items():
        assert torch.isfinite(torch.as_tensor(value)).all(), (name, value)
    assert any(k.startswith('unsup.') for k in losses), sorted(losses)
    total.backward()

    # The plain MMSeg model trains these parameters on the labeled images.
    plain = MODELS.build(method.plain_model_cfg(cfg)).train()
    plain.load_state_dict(method.plain_state_dict(model.state_dict()))
    plain_total, _ = plain.parse_losses(plain.loss(sup_images, sup_samples))
    plain_total.backward()
    missing = with_grad(plain) - with_grad(model)
    assert not missing, f'{family}: no gradient on {sorted(missing)[:5]}'

    # Export: a strict load into MMSeg's own segmentor, same predictions.
    exported = MODELS.build(method.plain_model_cfg(cfg))
    exported.load_state_dict(
        method.plain_state_dict(model.state_dict()), strict=True)
    images = torch.randn(NUM, 3, SIZE, SIZE)
    test_samples = [sample(False) for _ in range(NUM)]
    with torch.no_grad():
        ours = model.eval().predict(images, copy.deepcopy(test_samples))
        theirs = exported.eval().predict(images, copy.deepcopy(test_samples))
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a.seg_logits.data, b.seg_logits.data)
        assert torch.equal(a.pred_sem_seg.data, b.pred_sem_seg.data)


@pytest.mark.parametrize('family, method', cases(trained=False))
def test_zoo_family_not_supported_is_refused_at_build(family, method):
    needs_mmdet(family)
    if family in REFUSED:
        path, message = REFUSED[family]
    else:
        path, message = FAMILIES[family][0], 'mask-classification outputs'
    cfg = method_cfg(path, {}, method)
    with pytest.raises(TypeError, match=f'{method.__name__}.*{message}'):
        MODELS.build(cfg)


def test_readme_lists_every_family_as_tested():
    """README's table: one row per family, with how it trains."""
    with open(README) as f:
        text = f.read()
    rows = dict(
        re.findall(
            r'^\| ([^|]+?) \| (logits|outputs|head loss[^|]*?|not yet[^|]*?) '
            r'\|', text, re.M))
    expected = {family: how for family, (_, how, _) in FAMILIES.items()}
    expected.update({family: 'not yet' for family in REFUSED})
    assert {f: h.split(':')[0] for f, h in rows.items()} == expected


@pytest.mark.parametrize(
    'family', [f for f, (_, how, _) in FAMILIES.items() if how == OUTPUTS])
def test_zoo_logits_among_outputs_are_what_predict_gives(family):
    """The logits the methods read among a head's training outputs are
    what the head's own ``predict`` gives: with norm layers and dropout
    frozen, the training pass and MMSeg's eval pass agree."""
    path, _, overrides = FAMILIES[family]
    model = MODELS.build(ConfigDict(zoo_model_cfg(path, overrides))).eval()
    images = torch.randn(NUM, 3, SIZE, SIZE)
    metas = [sample(False).metainfo for _ in range(NUM)]
    head = model.decode_head
    with torch.no_grad():
        expected = head.predict(
            model.extract_feat(images), metas, model.test_cfg)
        # Training outputs: the segmentor, backbone and head in training
        # mode; their layers (norms, dropout) still in eval mode.
        for part in (model, model.backbone, head):
            part.training = True
        outputs = head.forward(model.extract_feat(images))
    assert not isinstance(outputs, torch.Tensor)
    torch.testing.assert_close(
        head.predict_by_feat(train_logits('Segmentor', head, outputs), metas),
        expected)


@pytest.mark.parametrize('family, stage', sorted(CASCADE_LOGITS_STAGE.items()))
def test_cascade_logits_are_the_stage_predict_reads(family, stage):
    """The logits the methods read of a cascade are what MMSeg's ``predict``
    of that stage gives (OCRNet: the whole cascade's; PointRend: the FPN
    head's, which its point head then refines), with the norm layers and
    dropout frozen."""
    path, _, overrides = FAMILIES[family]
    model = MODELS.build(method_cfg(path, overrides, METHODS[0])).eval()
    images = torch.randn(NUM, 3, SIZE, SIZE)
    metas = [sample(False).metainfo for _ in range(NUM)]
    head = model.decode_head[stage]
    with torch.no_grad():
        x = model.extract_feat(images)
        # MMSeg's CascadeEncoderDecoder inference, which the class inherits.
        expected = model.encode_decode(images, metas) if stage == len(
            model.decode_head) - 1 else head.predict(x, metas, model.test_cfg)
        logits = model.decode_logits(model.decode_forward(x))
    torch.testing.assert_close(head.predict_by_feat(logits, metas), expected)


@pytest.mark.parametrize('method', METHODS)
def test_point_head_on_pseudo_labels_only_under_the_simple_baseline(method):
    """PointRend's point head gives no per-pixel logits: the Simple Baseline
    trains it with its own loss on the hard pseudo labels too; UniMatch and
    FixMatch, on the labeled images only."""
    path, _, overrides = FAMILIES['PointRend']
    model = MODELS.build(method_cfg(path, overrides, method)).train()
    inputs, samples, _ = make_batch(model)
    losses = model.loss(inputs, samples)
    point = {k for k in losses if 'decode_1.' in k and 'loss' in k}
    if method is SemiSupervisedEncoderDecoder:
        assert point == {
            'sup.decode_1.pointloss_ce', 'unsup.decode_1.pointloss_ce'
        }
        # Pseudo-labeled images alone: the point head still learns.
        pseudo = [sample(True, **{IS_PSEUDO: True}) for _ in range(NUM)]
        losses = model.loss({STRONG: inputs[STRONG]}, {STRONG: pseudo})
        assert not any(k.startswith('sup.') for k in losses), sorted(losses)
        model.zero_grad()
        model.parse_losses(losses)[0].backward()
        assert all(p.grad is not None and p.grad.abs().sum() > 0
                   for p in model.decode_head[1].parameters())
        # For the point head alone: the features and FPN logits it reads
        # learn from the self-correction loss (weighted 0 here) only.
        model.unsup_weight = 0.
        model.zero_grad()
        model.parse_losses(
            model.loss({STRONG: inputs[STRONG]},
                       {STRONG: pseudo}))[0].backward()
        assert all(p.grad is None or not p.grad.any()
                   for p in model.parameters())
    else:
        assert point == {'sup.decode_1.pointloss_ce'}


@pytest.mark.parametrize('family', sorted(CASCADE_LOGITS_STAGE))
def test_cascade_labeled_losses_are_mmsegs(family):
    """On labeled images, a cascade's losses and gradients are those of
    MMSeg's own ``CascadeEncoderDecoder.loss`` (which runs the first stage
    twice; here it runs once), the point head's sampled points included."""
    path, _, overrides = FAMILIES[family]
    cfg = method_cfg(path, overrides, SemiSupervisedEncoderDecoder)
    cfg.semi_train_cfg = dict(use_dsbn=False)
    model = MODELS.build(cfg).train()
    plain = MODELS.build(type(model).plain_model_cfg(cfg)).train()
    plain.load_state_dict(type(model).plain_state_dict(model.state_dict()))
    images = torch.randn(NUM, 3, SIZE, SIZE)
    labeled = [sample(True) for _ in range(NUM)]
    results = []
    for segmentor in (model, plain):
        torch.manual_seed(1)  # the point head samples random points
        losses = segmentor.loss(images, copy.deepcopy(labeled))
        segmentor.parse_losses(losses)[0].backward()
        grads = {
            n: p.grad
            for n, p in segmentor.named_parameters() if p.grad is not None
        }
        results.append(({
            k.replace('sup.', '', 1): v
            for k, v in losses.items()
        }, grads))
    (ours, our_grads), (theirs, their_grads) = results
    assert sorted(ours) == sorted(theirs)
    for key in theirs:
        torch.testing.assert_close(ours[key], theirs[key], msg=key)
    assert our_grads.keys() == their_grads.keys()
    for name, grad in their_grads.items():
        # Equal up to float32 rounding (one pass of the first stage, two
        # paths summed in another order): 2e-6 of the norm at most, seen.
        error = (our_grads[name] - grad).norm() / grad.norm().clamp(min=1e-12)
        assert error < 1e-4, (name, float(error))
