# Copyright (c) mmseg_sb contributors. All rights reserved.
"""The views of the online methods: MultiView, RandomCutMixBox and the
photometric ops of UniMatch's strong views."""
import cv2
import numpy as np
import pytest
import torch

from mmseg.registry import TRANSFORMS
from mmseg_sb.datasets import ColorJitter, GaussianBlur, RandomCutMixBox


def build(cfg):
    return TRANSFORMS.build(cfg)


def test_views_share_the_geometry_and_only_strong_ones_carry_a_box(photo):
    pipeline = [
        dict(type='RandomCrop', crop_size=(64, 64)),
        dict(type='RandomFlip', prob=0.5),
        dict(
            type='MultiView',
            views=dict(
                weak=[dict(type='PackSegInputs')],
                strong_1=[
                    dict(type='RandomCutMixBox', prob=1.0),
                    dict(
                        type='PackSegInputs',
                        meta_keys=('img_shape', 'cutmix_box'))
                ]))
    ]
    transforms = [build(t) for t in pipeline]
    np.random.seed(0)
    results = dict(img=photo, img_shape=photo.shape[:2], seg_fields=[])
    for t in transforms:
        results = t(results)
    assert results['inputs']['sup'] is None
    assert results['inputs']['strong_2'] is None
    # The geometry is shared, so the views are pixel-aligned.
    assert torch.equal(results['inputs']['weak'],
                       results['inputs']['strong_1'])
    y1, x1, y2, x2 = results['data_samples']['strong_1'].cutmix_box
    assert 0 <= y1 < y2 <= 64 and 0 <= x1 < x2 <= 64
    assert 'cutmix_box' not in results['data_samples']['weak']


def test_multi_view_bad_arguments():
    with pytest.raises(ValueError, match='unknown'):
        build(dict(type='MultiView', views=dict(teacher=[])))
    t = build(dict(type='MultiView', views=dict(weak=[])))
    with pytest.raises(ValueError, match='must end with PackSegInputs'):
        t(dict(img=np.zeros((4, 4, 3), np.uint8)))


def test_cutmix_box_follows_its_ranges():
    t = RandomCutMixBox(prob=0.5, area=(0.1, 0.3), aspect=(0.5, 2.0))
    np.random.seed(0)
    boxes = [
        t(dict(img=np.zeros((60, 90, 3), np.uint8)))['cutmix_box']
        for _ in range(400)
    ]
    drawn = [b for b in boxes if b is not None]
    assert abs(len(drawn) / 400 - 0.5) < 0.08
    for y1, x1, y2, x2 in drawn:
        assert 0 <= y1 < y2 <= 60 and 0 <= x1 < x2 <= 90
        area = (y2 - y1) * (x2 - x1) / (60 * 90)
        assert 0.08 < area < 0.33  # rounding and clipping at the border
        assert 0.4 < (y2 - y1) / (x2 - x1) < 2.5
    with pytest.raises(ValueError, match='area='):
        RandomCutMixBox(area=(0.5, 0.2))


def jitter(img, seed=0, **kwargs):
    np.random.seed(seed)
    return ColorJitter(**kwargs)(dict(img=img.copy()))['img']


def test_color_jitter_brightness_scales_every_pixel(photo):
    dark = (photo // 2).astype(np.uint8)  # no clipping at 1.5x
    for seed in range(5):
        out = jitter(dark, seed, brightness=0.5).astype(np.float64)
        factor = (out + 0.5).sum() / dark.sum()  # uint8 truncates
        assert 0.5 <= factor <= 1.5
        np.testing.assert_allclose(out, dark * factor, atol=1.5)


def test_color_jitter_saturation_and_hue_keep_grey_grey(photo):
    grey = np.repeat(cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY)[..., None], 3, 2)
    out = jitter(grey, saturation=0.5, hue=0.25)
    assert np.abs(out.astype(int) - grey).max() <= 1
    coloured = jitter(photo, hue=0.25)
    assert np.abs(coloured.astype(int) - photo).mean() > 5
    # Contrast keeps the mean grey level.
    out = jitter(photo, contrast=0.5)
    gray = cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY).mean()
    assert abs(cv2.cvtColor(out, cv2.COLOR_BGR2GRAY).mean() - gray) < 2
    with pytest.raises(ValueError, match='hue=0.7'):
        ColorJitter(hue=0.7)


def test_gaussian_blur_sigma_is_the_impulse_response_spread():
    impulse = np.zeros((41, 41, 3), np.uint8)
    impulse[20, 20] = 255
    t = GaussianBlur(sigma=(1.0, 2.0))
    for seed in range(5):
        np.random.seed(seed)
        out = t(dict(img=impulse.copy()))['img'][20, :, 0].astype(float)
        x = np.arange(41) - 20
        std = np.sqrt((out * x**2).sum() / out.sum())
        assert 0.9 < std < 2.1
