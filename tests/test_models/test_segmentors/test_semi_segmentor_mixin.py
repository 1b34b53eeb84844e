# Copyright (c) mmseg_sb contributors. All rights reserved.
import copy

import pytest
import torch
from mmengine.structures import PixelData

from mmseg.models.decode_heads import FCNHead
from mmseg.models.segmentors import EncoderDecoder
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg_sb.models import (DSBN, FixMatchEncoderDecoder,
                             SemiSupervisedEncoderDecoder,
                             UniMatchEncoderDecoder)
from mmseg_sb.models.segmentors import SemiSegmentorMixin

SEGMENTORS = (SemiSupervisedEncoderDecoder, UniMatchEncoderDecoder,
              FixMatchEncoderDecoder)
SIZE = 32


def test_each_segmentor_declares_its_plain_form():
    declared = {
        cls: (cls.plain_type, cls.method_name, cls.method_keys,
              cls.teacher_optional_keys)
        for cls in SEGMENTORS
    }
    assert declared == {
        SemiSupervisedEncoderDecoder:
        ('EncoderDecoder', 'Simple Baseline', ('semi_train_cfg', 'unsup_loss'),
         ('dsbn_aux_trained', )),
        UniMatchEncoderDecoder:
        ('EncoderDecoder', 'UniMatch', ('semi_train_cfg', ), ()),
        FixMatchEncoderDecoder:
        ('EncoderDecoder', 'FixMatch', ('semi_train_cfg', ), ()),
    }
    for cls in SEGMENTORS:
        assert issubclass(cls, SemiSegmentorMixin)
        assert MODELS.get(cls.plain_type) is EncoderDecoder
        assert MODELS.get(cls.__name__) is cls
    assert SemiSupervisedEncoderDecoder.AUX_TRAINED == 'dsbn_aux_trained'


def test_plain_model_cfg_by_hand():
    dsbn = dict(type='DSBN', norm_cfg=dict(type='SyncBN', requires_grad=True))
    preprocessor = dict(type='SegDataPreProcessor', size=(8, 8))
    semi = dict(
        type='SemiSupervisedEncoderDecoder',
        data_preprocessor=preprocessor,
        semi_train_cfg=dict(use_dsbn=True),
        unsup_loss=dict(type='SelfCorrectionLoss'),
        backbone=dict(type='ResNetV1c', depth=18, norm_cfg=dsbn),
        decode_head=dict(type='FCNHead', norm_cfg=dict(type='BN')),
        auxiliary_head=[dict(type='FCNHead', norm_cfg=dsbn)],
        test_cfg=dict(mode='whole'))
    before = copy.deepcopy(semi)
    syncbn = dict(type='SyncBN', requires_grad=True)
    assert SemiSupervisedEncoderDecoder.plain_model_cfg(semi) == dict(
        type='EncoderDecoder',
        data_preprocessor=preprocessor,
        backbone=dict(type='ResNetV1c', depth=18, norm_cfg=syncbn),
        decode_head=dict(type='FCNHead', norm_cfg=dict(type='BN')),
        auxiliary_head=[dict(type='FCNHead', norm_cfg=syncbn)],
        test_cfg=dict(mode='whole'))
    assert semi == before  # a copy
    # UniMatch unwraps its preprocessor, whether the config wraps it or not.
    online = dict(
        type='UniMatchEncoderDecoder',
        semi_train_cfg=dict(conf_thresh=0.9),
        data_preprocessor=dict(
            type='MultiViewDataPreProcessor', data_preprocessor=preprocessor),
        backbone=dict(type='ResNetV1c', depth=18))
    expected = dict(
        type='EncoderDecoder',
        data_preprocessor=preprocessor,
        backbone=dict(type='ResNetV1c', depth=18))
    for cls in (UniMatchEncoderDecoder, FixMatchEncoderDecoder):
        assert cls.plain_model_cfg(dict(online, type=cls.__name__)) == expected
        assert cls.plain_model_cfg(
            dict(online, data_preprocessor=preprocessor)) == expected
    without = dict(type='FixMatchEncoderDecoder', backbone=dict(depth=18))
    assert FixMatchEncoderDecoder.plain_model_cfg(without) == dict(
        type='EncoderDecoder', backbone=dict(depth=18))


def test_plain_state_dict_by_hand():
    state = {
        'backbone.conv1.weight': torch.ones(1),
        'backbone.bn1.main.weight': torch.full((1, ), 2.),
        'backbone.bn1.aux.weight': torch.full((1, ), 3.),
        'backbone.bn1.main.running_mean': torch.full((1, ), 4.),
        'backbone.bn1.aux.running_mean': torch.full((1, ), 5.),
        'dsbn_aux_trained': torch.tensor(True),
    }
    assert list(SemiSupervisedEncoderDecoder.plain_state_dict(state)) == [
        'backbone.conv1.weight', 'backbone.bn1.weight',
        'backbone.bn1.running_mean'
    ]
    plain = SemiSupervisedEncoderDecoder.plain_state_dict(state)
    assert plain['backbone.bn1.weight'].item() == 2.
    assert plain['backbone.bn1.running_mean'].item() == 4.
    # UniMatch has no buffer of its own: only DSBN (none here) changes.
    online = {'backbone.conv1.weight': torch.ones(1), 'x.bn.weight': None}
    assert UniMatchEncoderDecoder.plain_state_dict(online) == online
    assert list(UniMatchEncoderDecoder.plain_state_dict(state)) == [
        'backbone.conv1.weight', 'backbone.bn1.weight',
        'backbone.bn1.running_mean', 'dsbn_aux_trained'
    ]


def samples(num):
    return [
        SegDataSample(
            metainfo=dict(
                img_shape=(SIZE, SIZE),
                ori_shape=(SIZE, SIZE),
                pad_shape=(SIZE, SIZE))) for _ in range(num)
    ]


def assert_same_predictions(model, plain):
    inputs = torch.randn(2, 3, SIZE, SIZE)
    model.eval(), plain.eval()
    with torch.no_grad():
        ours = model.predict(inputs, samples(2))
        theirs = plain.predict(inputs, samples(2))
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a.seg_logits.data, b.seg_logits.data)
        assert torch.equal(a.pred_sem_seg.data, b.pred_sem_seg.data)


@pytest.mark.parametrize('backbone_norm', ['BN', 'DSBN'])
def test_simple_baseline_exports_to_encoder_decoder(tiny_model_cfg,
                                                    backbone_norm):
    """A built model (DSBN in the config, or converted from BN) and its plain
    form: a strict load, the same eval-mode output."""
    cfg = copy.deepcopy(tiny_model_cfg)
    if backbone_norm == 'DSBN':
        cfg.backbone.norm_cfg = dict(
            type='DSBN', norm_cfg=cfg.backbone.norm_cfg)
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    with torch.no_grad():  # main and aux trained apart
        for layer in model.modules():
            if isinstance(layer, DSBN):
                layer.main.running_mean.uniform_(-1, 1)
                layer.main.weight.uniform_(0.5, 1.5)
                layer.aux.running_mean.fill_(50.)
    model.dsbn_aux_trained.fill_(True)
    plain_cfg = SemiSupervisedEncoderDecoder.plain_model_cfg(cfg)
    assert 'DSBN' not in str(plain_cfg)
    plain = MODELS.build(plain_cfg)
    assert type(plain) is EncoderDecoder
    plain.load_state_dict(
        SemiSupervisedEncoderDecoder.plain_state_dict(model.state_dict()),
        strict=True)
    assert_same_predictions(model, plain)
    # A supervised teacher's checkpoint (the plain model's) lacks exactly
    # the declared keys.
    result = MODELS.build(cfg).load_state_dict(
        plain.state_dict(), strict=False)
    assert result.unexpected_keys == []
    assert tuple(result.missing_keys) == model.teacher_optional_keys


@pytest.mark.parametrize('cls',
                         [UniMatchEncoderDecoder, FixMatchEncoderDecoder])
def test_online_methods_export_to_encoder_decoder(tiny_model_cfg, cls):
    cfg = copy.deepcopy(tiny_model_cfg)
    cfg.update(type=cls.__name__, semi_train_cfg=dict(conf_thresh=0.9))
    cfg.decode_head.dropout_ratio = 0.
    model = MODELS.build(cfg)
    plain = MODELS.build(cls.plain_model_cfg(cfg))
    assert type(plain) is EncoderDecoder
    assert type(plain.data_preprocessor).__name__ == 'SegDataPreProcessor'
    plain.load_state_dict(
        cls.plain_state_dict(model.state_dict()), strict=True)
    assert_same_predictions(model, plain)
    result = MODELS.build(cfg).load_state_dict(
        plain.state_dict(), strict=False)
    assert (result.missing_keys, result.unexpected_keys) == ([], [])
    assert cls.teacher_optional_keys == ()


@pytest.mark.parametrize('cls', SEGMENTORS)
def test_other_segmentor_types_are_refused_at_build(tiny_model_cfg, cls):
    """OCRNet's and PointRend's CascadeEncoderDecoder used to fail deep in
    EncoderDecoder's constructor (unexpected keyword 'num_stages'); the
    message now names the method's class for it."""
    cfg = copy.deepcopy(tiny_model_cfg)
    cfg.update(
        type=cls.__name__,
        num_stages=2,
        decode_head=[cfg['decode_head'], cfg['decode_head']])
    cascade = cls.__name__.replace('EncoderDecoder', 'CascadeEncoderDecoder')
    assert MODELS.get(cascade) is not None
    with pytest.raises(
            TypeError,
            match=f"is a CascadeEncoderDecoder .*: use type='{cascade}'"):
        MODELS.build(cfg)
    # And the other way round.
    cfg = copy.deepcopy(tiny_model_cfg)
    cfg.update(type=cascade)
    with pytest.raises(
            TypeError,
            match=f"is an EncoderDecoder .*: use type='{cls.__name__}'"):
        MODELS.build(cfg)
    # SAN's MultimodalEncoderDecoder takes keys EncoderDecoder does not.
    cfg = copy.deepcopy(tiny_model_cfg)
    cfg.update(type=cls.__name__, asymetric_input=True)
    with pytest.raises(
            TypeError,
            match=r"another segmentor type \(it has \['asymetric_input'\]"):
        MODELS.build(cfg)


@MODELS.register_module(force=True)
class TwoLogitsHead(FCNHead):
    """A head of another package, with two training outputs of a layout
    this package does not know."""

    def forward(self, inputs):
        logits = super().forward(inputs)
        return (logits, logits) if self.training else logits


@pytest.mark.parametrize('cls', SEGMENTORS)
def test_an_unknown_multi_output_head_fails_at_the_first_step(
        tiny_model_cfg, cls):
    """Named at the first training iteration (the Simple Baseline's teacher
    step, not the first student batch after a whole round)."""
    cfg = copy.deepcopy(tiny_model_cfg).to_dict()
    cfg.update(
        type=cls.__name__,
        auxiliary_head=None,
        decode_head=dict(
            type='TwoLogitsHead',
            in_channels=512,
            in_index=3,
            channels=16,
            num_convs=1,
            num_classes=19))
    model = MODELS.build(cfg).train()
    images = torch.randn(2, 3, SIZE, SIZE)
    samples = [
        SegDataSample(metainfo=dict(img_shape=(SIZE, SIZE))) for _ in range(2)
    ]
    for s in samples:
        s.gt_sem_seg = PixelData(data=torch.randint(0, 19, (1, SIZE, SIZE)))
    if cls is SemiSupervisedEncoderDecoder:
        batch = (images, samples)  # the teacher's: labeled images only
    else:
        views = ['sup', 'weak', 'strong_1'
                 ] + (['strong_2'] if cls is UniMatchEncoderDecoder else [])
        batch = ({v: images for v in views}, {v: samples for v in views})
    with pytest.raises(
            TypeError,
            match=f'{cls.__name__} needs per-pixel logits .* TwoLogitsHead '
            'gives tuple in training.*TRAIN_LOGITS_INDEX'):
        model.loss(*batch)
