# Copyright (c) mmseg_sb contributors. All rights reserved.
import copy

import pytest
import torch
import torch.nn.functional as F
from mmengine.structures import PixelData
from torch.nn.modules.batchnorm import _BatchNorm

from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg_sb.models import MultiViewDataPreProcessor

SIZE = 32


def online_cfg(cfg, type='UniMatchEncoderDecoder', **semi_train_cfg):
    """The tiny model as ``type``, with ``semi_train_cfg`` if given."""
    cfg = copy.deepcopy(cfg)
    cfg['type'] = type
    cfg['auxiliary_head'] = None
    cfg['decode_head']['dropout_ratio'] = 0.0
    if semi_train_cfg:
        cfg['semi_train_cfg'] = semi_train_cfg
    return cfg


def sample(label=None, box=None, img_shape=(SIZE, SIZE)):
    s = SegDataSample(
        metainfo=dict(
            img_shape=img_shape,
            ori_shape=img_shape,
            pad_shape=(SIZE, SIZE),
            cutmix_box=box))
    if label is not None:
        s.gt_sem_seg = PixelData(data=label)
    return s


def make_batch(num_sup=2, num_unsup=3, strong=2, seed=0):
    """Preprocessed multi-view inputs and samples: labeled images, and weak
    and strong views of unlabeled ones; the first strong view of image 0
    carries a CutMix box, and image 2 was padded on the right."""
    g = torch.Generator().manual_seed(seed)
    inputs = {'sup': torch.randn(num_sup, 3, SIZE, SIZE, generator=g)}
    samples = {
        'sup': [
            sample(torch.randint(0, 19, (1, SIZE, SIZE), generator=g))
            for _ in range(num_sup)
        ]
    }
    shapes = [(SIZE, SIZE)] * num_unsup
    shapes[2] = (SIZE, 20)
    inputs['weak'] = torch.randn(num_unsup, 3, SIZE, SIZE, generator=g)
    samples['weak'] = [sample(img_shape=s) for s in shapes]
    for k in range(1, strong + 1):
        view = f'strong_{k}'
        inputs[view] = inputs['weak'] + 0.3 * torch.randn(
            num_unsup, 3, SIZE, SIZE, generator=g)
        boxes = [(4, 8, 20, 24) if (i == 0 and k == 1) else None
                 for i in range(num_unsup)]
        samples[view] = [
            sample(box=b, img_shape=s) for b, s in zip(boxes, shapes)
        ]
    return inputs, samples


def frozen_bn(model):
    """Train mode with BN on running statistics, so that a sample's output
    does not depend on the rest of its batch."""
    model.train()
    for m in model.modules():
        if isinstance(m, _BatchNorm):
            m.eval()
    return model


def upsample(logits):
    return F.interpolate(
        logits, (SIZE, SIZE), mode='bilinear', align_corners=False)


def test_losses_match_an_independent_reference(tiny_model_cfg):
    model = frozen_bn(
        MODELS.build(online_cfg(tiny_model_cfg, conf_thresh=0.06)))
    inputs, samples = make_batch()
    with torch.no_grad():
        losses = model.loss(inputs, samples)
        # Reference, computed image by image (frozen BN, so no batch
        # effects) with MMSeg's own head and the box mixed by slicing.
        logits = {
            v: model.decode_head.forward(model.extract_feat(x))
            for v, x in inputs.items()
        }
        sup = model.decode_head.loss_by_feat(logits['sup'], samples['sup'])
        conf, pseudo = upsample(logits['weak']).softmax(1).max(1)
        valid = torch.ones_like(pseudo, dtype=torch.bool)
        valid[2, :, 20:] = False
        image = inputs['strong_1'].clone()
        target, target_conf, target_valid = (pseudo.clone(), conf.clone(),
                                             valid.clone())
        for x, src in ((image, inputs['strong_1']), (target, pseudo),
                       (target_conf, conf), (target_valid, valid)):
            x[0, ..., 4:20, 8:24] = src[1, ..., 4:20, 8:24]
        mixed_logits = upsample(
            model.decode_head.forward(model.extract_feat(image)))

    def reference(logits, target, conf, valid):
        ce = -logits.log_softmax(1).gather(1, target[:, None])[:, 0]
        keep = (conf >= 0.06) & valid
        return (ce * keep).sum() / valid.sum()

    torch.testing.assert_close(losses['sup.decode.loss_ce'],
                               0.5 * sup['loss_ce'])
    torch.testing.assert_close(
        losses['unsup.loss_strong_1'],
        0.125 * reference(mixed_logits, target, target_conf, target_valid))
    strong_2 = upsample(logits['strong_2'])
    torch.testing.assert_close(
        losses['unsup.loss_strong_2'],
        0.125 * reference(strong_2, pseudo, conf, valid))
    torch.testing.assert_close(losses['unsup.mask_ratio'],
                               ((conf >= 0.06) & valid).sum() / valid.sum())
    # Labeled, then unlabeled entries, in the order MMEngine sums them.
    assert list(losses) == [
        'sup.decode.loss_ce', 'sup.decode.acc_seg', 'unsup.loss_fp',
        'unsup.loss_strong_1', 'unsup.loss_strong_2', 'unsup.mask_ratio'
    ]
    # The feature stream: out of training, no dropout, so its prediction
    # is the weak view's own and its loss that of the weak view.
    model.eval()
    with torch.no_grad():
        eval_losses = model.loss(inputs, samples)
        weak = upsample(
            model.decode_head.forward(model.extract_feat(inputs['weak'])))
        conf, pseudo = weak.softmax(1).max(1)
    torch.testing.assert_close(eval_losses['unsup.loss_fp'],
                               0.25 * reference(weak, pseudo, conf, valid))


def test_confidence_mask(tiny_model_cfg):
    model = MODELS.build(online_cfg(tiny_model_cfg, conf_thresh=0.5))
    logits = torch.randn(2, 19, 4, 4)
    target = torch.randint(0, 19, (2, 4, 4))
    conf = torch.full((2, 4, 4), 0.4)
    conf[0, 0, :3] = 0.5  # at the threshold: kept
    conf[1, 2, 2] = 0.9
    valid = torch.ones(2, 4, 4, dtype=torch.bool)
    valid[1, 3] = False
    ce = F.cross_entropy(logits, target, reduction='none')
    expected = (ce[0, 0, :3].sum() + ce[1, 2, 2]) / valid.sum()
    torch.testing.assert_close(
        model._unsup_loss(logits, target, conf, valid), expected)


def test_feature_dropout_only_in_training(tiny_model_cfg):
    model = frozen_bn(MODELS.build(online_cfg(tiny_model_cfg)))
    inputs, _ = make_batch()
    with torch.no_grad():
        _, _, weak, fp = model._sup_weak_forward(inputs['sup'], inputs['weak'])
        assert not torch.allclose(weak, fp)
        model.eval()
        _, _, weak, fp = model._sup_weak_forward(inputs['sup'], inputs['weak'])
        torch.testing.assert_close(weak, fp)


def test_weights_scale_each_loss(tiny_model_cfg):
    ones = dict(strong_1=1.0, strong_2=1.0, fp=1.0)
    paper = MODELS.build(online_cfg(tiny_model_cfg)).train()
    unit = MODELS.build(
        online_cfg(tiny_model_cfg, sup_weight=1.0, unsup_weight=ones))
    unit.load_state_dict(paper.state_dict())
    inputs, samples = make_batch()
    torch.manual_seed(0)
    a = paper.loss(*copy.deepcopy((inputs, samples)))
    torch.manual_seed(0)
    b = unit.train().loss(*copy.deepcopy((inputs, samples)))
    weights = {
        'sup.decode.loss_ce': 0.5,
        'unsup.loss_strong_1': 0.125,
        'unsup.loss_strong_2': 0.125,
        'unsup.loss_fp': 0.25
    }
    for key, weight in weights.items():
        torch.testing.assert_close(a[key], weight * b[key])
    for key in ('sup.decode.acc_seg', 'unsup.mask_ratio'):
        torch.testing.assert_close(a[key], b[key])
    # Every weighted loss gets a gradient; the pseudo labels do not.
    sum(v for k, v in a.items() if 'loss' in k).backward()
    assert all(p.grad is not None for p in paper.parameters()
               if p.requires_grad)


def test_fixmatch_is_unimatch_with_the_streams_off(tiny_model_cfg):
    fixmatch = MODELS.build(
        online_cfg(tiny_model_cfg, type='FixMatchEncoderDecoder'))
    switched = MODELS.build(
        online_cfg(
            tiny_model_cfg,
            feature_dropout=0.,
            unsup_weight=dict(strong_1=0.5, fp=0.)))
    switched.load_state_dict(fixmatch.state_dict())
    inputs, samples = make_batch(strong=1)
    a = fixmatch.train().loss(*copy.deepcopy((inputs, samples)))
    b = switched.train().loss(*copy.deepcopy((inputs, samples)))
    assert set(a) == set(b) == {
        'sup.decode.loss_ce', 'sup.decode.acc_seg', 'unsup.loss_strong_1',
        'unsup.mask_ratio'
    }
    for key in a:
        torch.testing.assert_close(a[key], b[key])


def test_inference_and_checkpoints_are_encoder_decoders(tiny_model_cfg):
    model = MODELS.build(online_cfg(tiny_model_cfg)).eval()
    plain = MODELS.build(online_cfg(tiny_model_cfg, type='EncoderDecoder'))
    plain.load_state_dict(model.state_dict(), strict=True)
    assert isinstance(model.data_preprocessor, MultiViewDataPreProcessor)
    inputs = torch.randn(2, 3, SIZE, SIZE)
    metas = [sample() for _ in range(2)]
    with torch.no_grad():
        ours = model.predict(inputs, copy.deepcopy(metas))
        theirs = plain.eval().predict(inputs, copy.deepcopy(metas))
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a.seg_logits.data, b.seg_logits.data)


@pytest.mark.parametrize('thresh', [0, -0.1, 1.5])
def test_threshold_outside_unit_interval_is_refused(tiny_model_cfg, thresh):
    with pytest.raises(ValueError, match=f'conf_thresh={thresh}'):
        MODELS.build(online_cfg(tiny_model_cfg, conf_thresh=thresh))


def test_bad_weights_are_refused(tiny_model_cfg):
    with pytest.raises(ValueError, match=r"unknown terms \['strong_3'\]"):
        MODELS.build(
            online_cfg(
                tiny_model_cfg,
                unsup_weight=dict(strong_1=1, strong_2=1, strong_3=1)))
    with pytest.raises(ValueError, match=r"lacks \['strong_1'\]"):
        MODELS.build(
            online_cfg(tiny_model_cfg, unsup_weight=dict(strong_2=1.)))
    with pytest.raises(ValueError, match='feature_dropout > 0'):
        MODELS.build(online_cfg(tiny_model_cfg, feature_dropout=0.))
    with pytest.raises(ValueError, match=r'unsup_weight.fp=-1 .*\[0, inf\)'):
        MODELS.build(
            online_cfg(tiny_model_cfg, unsup_weight=dict(strong_1=1, fp=-1)))
    with pytest.raises(TypeError, match='unsup_weight=0.5 must be a dict'):
        MODELS.build(online_cfg(tiny_model_cfg, unsup_weight=0.5))
    with pytest.raises(TypeError, match="sup_weight='1' must be a number"):
        MODELS.build(online_cfg(tiny_model_cfg, sup_weight='1'))


@pytest.mark.parametrize('type',
                         ['UniMatchEncoderDecoder', 'FixMatchEncoderDecoder'])
def test_semi_train_cfg_is_checked_before_building(tiny_model_cfg, type):
    with pytest.raises(ValueError, match=r"unknown keys \['loss_weights'\]"):
        MODELS.build(
            online_cfg(tiny_model_cfg, type, loss_weights=dict(sup=0.5)))
    cfg = online_cfg(tiny_model_cfg, type)
    cfg['semi_train_cfg'] = [('conf_thresh', 0.9)]
    with pytest.raises(TypeError, match='semi_train_cfg must be a dict'):
        MODELS.build(cfg)


def test_semi_train_cfg_defaults_per_class(tiny_model_cfg):
    unimatch = MODELS.build(online_cfg(tiny_model_cfg))
    assert (unimatch.conf_thresh, unimatch.feature_dropout,
            unimatch.sup_weight) == (0.95, 0.5, 0.5)
    assert unimatch.unsup_weight == dict(
        strong_1=0.125, strong_2=0.125, fp=0.25)
    assert unimatch.strong_views == ('strong_1', 'strong_2')
    assert unimatch.use_fp
    fixmatch = MODELS.build(
        online_cfg(
            tiny_model_cfg, type='FixMatchEncoderDecoder', conf_thresh=0.5))
    assert (fixmatch.conf_thresh, fixmatch.feature_dropout,
            fixmatch.sup_weight) == (0.5, 0., 0.5)
    assert fixmatch.unsup_weight == dict(strong_1=0.5)
    assert fixmatch.strong_views == ('strong_1', ) and not fixmatch.use_fp


def test_batch_without_unlabeled_views_is_refused(tiny_model_cfg):
    model = MODELS.build(online_cfg(tiny_model_cfg)).train()
    inputs, samples = make_batch()
    with pytest.raises(ValueError, match=r"no \['weak', 'strong_1'"):
        model.loss({'sup': inputs['sup']}, {'sup': samples['sup']})
    with pytest.raises(ValueError, match='multi-view batches'):
        model.loss(inputs['sup'], samples['sup'])


@pytest.mark.parametrize('method',
                         ['UniMatchEncoderDecoder', 'FixMatchEncoderDecoder'])
def test_auxiliary_head_is_trained_on_labeled_images(tiny_model_cfg, method):
    """The auxiliary head's loss is MMSeg's supervised one on the labeled
    images (an EncoderDecoder with the same weights), weighted as the
    labeled loss, and every parameter of the head gets a gradient."""
    cfg = online_cfg(tiny_model_cfg, method)
    cfg['auxiliary_head'] = dict(
        copy.deepcopy(tiny_model_cfg['auxiliary_head']), dropout_ratio=0.0)
    model = frozen_bn(MODELS.build(cfg))
    plain = frozen_bn(MODELS.build(dict(type(model).plain_model_cfg(cfg))))
    plain.load_state_dict(model.state_dict())
    inputs, samples = make_batch(strong=1 if method.startswith('Fix') else 2)
    losses = model.loss(inputs, samples)
    reference = plain.loss(inputs['sup'], samples['sup'])
    torch.testing.assert_close(losses['sup.aux.loss_ce'],
                               model.sup_weight * reference['aux.loss_ce'])
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    grads = [p.grad for p in model.auxiliary_head.parameters()]
    assert grads and all(g is not None and g.abs().sum() > 0 for g in grads)
