# Copyright (c) mmseg_sb contributors. All rights reserved.
import torch
from mmengine.dataset import pseudo_collate

from mmseg.registry import MODELS, TRANSFORMS
from mmseg.structures import SegDataSample
from mmseg_sb.models import MultiViewDataPreProcessor

from conftest import TINY_DEEPLABV3PLUS  # isort: skip

SEG_PREPROCESSOR = dict(TINY_DEEPLABV3PLUS['data_preprocessor'], size=(16, 16))


def packed(view_names, height=12, value=0):
    """A MultiView-packed sample with the given views."""
    transform = TRANSFORMS.build(
        dict(
            type='MultiView',
            views={v: [dict(type='PackSegInputs')]
                   for v in view_names}))
    img = torch.full((height, 16, 3), value, dtype=torch.uint8).numpy()
    return transform(dict(img=img, img_shape=img.shape[:2]))


def test_each_view_is_preprocessed_on_its_own():
    processor = MODELS.build(
        dict(
            type='MultiViewDataPreProcessor',
            data_preprocessor=SEG_PREPROCESSOR))
    batch = pseudo_collate([
        packed(['sup'], value=10),
        packed(['weak', 'strong_1', 'strong_2'], height=16, value=20),
        packed(['weak', 'strong_1', 'strong_2'], height=12, value=30),
    ])
    out = processor(batch, training=True)
    assert set(out['inputs']) == {'sup', 'weak', 'strong_1', 'strong_2'}
    assert out['inputs']['sup'].shape == (1, 3, 16, 16)
    assert out['inputs']['weak'].shape == (2, 3, 16, 16)
    # The plain preprocessor's normalisation and padding, per view.
    plain = MODELS.build(SEG_PREPROCESSOR)
    reference = plain(
        dict(
            inputs=[
                packed(['weak'], height=h, value=v)['inputs']['weak']
                for h, v in ((16, 20), (12, 30))
            ],
            data_samples=[SegDataSample(), SegDataSample()]), True)
    torch.testing.assert_close(out['inputs']['weak'], reference['inputs'])
    assert out['data_samples']['weak'][1].img_shape == (12, 16)


def test_plain_batches_pass_through():
    processor = MODELS.build(
        dict(
            type='MultiViewDataPreProcessor',
            data_preprocessor=SEG_PREPROCESSOR))
    plain = MODELS.build(SEG_PREPROCESSOR)
    data = dict(
        inputs=[torch.randint(0, 255, (3, 16, 16), dtype=torch.uint8)],
        data_samples=[SegDataSample()])
    torch.testing.assert_close(
        processor(data, False)['inputs'],
        plain(data, False)['inputs'])


def test_device_follows_the_wrapper():
    processor = MODELS.build(
        dict(
            type='MultiViewDataPreProcessor',
            data_preprocessor=SEG_PREPROCESSOR))
    # As if the model had been on another device: moving the wrapper moves
    # the device the inner preprocessor casts the data to.
    for move in (lambda p: p.to('cpu'), lambda p: p.cpu()):
        processor.data_preprocessor._device = torch.device('meta')
        move(processor)
        assert processor.data_preprocessor.device == torch.device('cpu')


def test_wrap_and_plain_cfg_are_inverse():
    wrapped = dict(
        type='MultiViewDataPreProcessor', data_preprocessor=SEG_PREPROCESSOR)
    assert MultiViewDataPreProcessor.wrap_cfg(SEG_PREPROCESSOR) == wrapped
    assert MultiViewDataPreProcessor.wrap_cfg(wrapped) is wrapped
    assert MultiViewDataPreProcessor.wrap_cfg(None) is None
    assert MultiViewDataPreProcessor.plain_cfg(wrapped) == SEG_PREPROCESSOR
    assert MultiViewDataPreProcessor.plain_cfg(SEG_PREPROCESSOR) is \
        SEG_PREPROCESSOR
    assert MultiViewDataPreProcessor.plain_cfg(None) is None
    built = MODELS.build(MultiViewDataPreProcessor.wrap_cfg(SEG_PREPROCESSOR))
    assert type(built.data_preprocessor).__name__ == 'SegDataPreProcessor'
