# Copyright (c) mmseg_sb contributors. All rights reserved.
import cv2
import numpy as np
import pytest

from mmseg.registry import TRANSFORMS
from mmseg_sb.datasets import STRONG_OPS, StrongAugment


def make_results(seed=0, h=48, w=64):
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    seg = rng.integers(0, 19, (h, w), dtype=np.uint8)
    seg[:4] = 255
    return dict(img=img, gt_seg_map=seg, seg_fields=['gt_seg_map'])


def apply_op(name, img, magnitude=20, seed=0):
    np.random.seed(seed)
    t = StrongAugment(num_ops=1, magnitude=magnitude, ops=[name])
    return t(dict(img=img.copy()))['img']


def test_pool_is_the_papers_17_ops():
    assert len(STRONG_OPS) == 17


@pytest.mark.parametrize('name,expected', [('contrast_gamma', 1.013),
                                           ('contrast_linear', 1.269),
                                           ('brightness', 15.9),
                                           ('brightness_channel', 15.9),
                                           ('hsv', 0.513), ('blur', 1.756),
                                           ('noise_gau', 14.2),
                                           ('noise_pos', 12.6)])
def test_values_at_magnitude_20(name, expected):
    t = StrongAugment(magnitude=20, max_magnitude=40)
    assert t.op_value(name) == pytest.approx(expected, abs=0.05)


@pytest.mark.parametrize('name', list(STRONG_OPS))
def test_each_op_changes_only_the_image(name):
    results = make_results()
    seg_before = results['gt_seg_map'].copy()
    np.random.seed(1)
    out = StrongAugment(num_ops=1, ops=[name])(results)
    assert out['strong_ops'] == [name]
    assert out['img'].dtype == np.uint8
    assert out['img'].shape == (48, 64, 3)
    assert out['gt_seg_map'].tobytes() == seg_before.tobytes()


def test_point_ops_match_formulas():
    x = np.arange(256, dtype=np.uint8).reshape(16, 16, 1).repeat(3, 2)
    f = x.astype(np.float64)
    v = -20 + 70 * 20 / 39  # brightness value at M=20
    np.testing.assert_array_equal(
        apply_op('brightness', x),
        np.clip(np.rint(f + v), 0, 255).astype(np.uint8))
    a = 0.5 + 1.5 * 20 / 39
    np.testing.assert_array_equal(
        apply_op('contrast_linear', x),
        np.clip(np.rint(128 + a * (f - 128)), 0, 255).astype(np.uint8))
    g = 0.5 + 20 / 39
    np.testing.assert_array_equal(
        apply_op('contrast_gamma', x),
        np.clip(np.rint(255 * (f / 255)**g), 0, 255).astype(np.uint8))
    np.testing.assert_array_equal(
        apply_op('solarize', x), np.where(x >= 128, 255 - x, x))
    img = make_results()['img']
    np.testing.assert_array_equal(
        apply_op('invert_channel', img), img[..., ::-1])
    # hsv is a no-op at M=20 (value 0.51 truncated to 0).
    np.testing.assert_array_equal(apply_op('hsv', img), img)
    shifted = apply_op('hsv', img, magnitude=40)
    hsv_in = cv2.cvtColor(img, cv2.COLOR_BGR2HSV).astype(int)
    hsv_out = cv2.cvtColor(shifted, cv2.COLOR_BGR2HSV).astype(int)
    hue_shift = (hsv_out[..., 0] - hsv_in[..., 0]) % 180
    assert np.median(hue_shift) == int(-20 + 40 * 40 / 39)  # 21


def test_equalize_flattens_each_channel_histogram():
    rng = np.random.default_rng(0)
    img = rng.integers(100, 140, (64, 64, 3), dtype=np.uint8)
    out = apply_op('equalize', img)
    for c in range(3):
        assert out[..., c].min() < 10 and out[..., c].max() == 255
        # Order-preserving per channel.
        order = np.argsort(img[..., c], axis=None, kind='stable')
        assert np.all(np.diff(out[..., c].flatten()[order].astype(int)) >= 0)


def test_noise_statistics():
    flat = np.full((256, 256, 3), 128, dtype=np.uint8)
    gau = apply_op('noise_gau', flat).astype(float) - 128
    assert abs(gau.mean()) < 0.3
    assert gau.std() == pytest.approx((0.03 + 0.05 * 20 / 39) * 255, rel=0.03)
    pos = apply_op('noise_pos', flat).astype(float) - 128
    lam = 10 + 5 * 20 / 39
    assert abs(pos.mean()) < 0.3  # random sign
    assert np.abs(pos).mean() == pytest.approx(lam, rel=0.03)
    assert np.abs(pos).var() == pytest.approx(lam, rel=0.1)  # Poisson
    blur_in = np.zeros((41, 41, 3), np.uint8)
    blur_in[20, 20] = 255
    blurred = apply_op('blur', blur_in).astype(float)[..., 0]
    sigma = 1.5 + 0.5 * 20 / 39
    row = blurred[20, 16:25] / blurred[20, 20]
    expected = np.exp(-np.arange(-4, 5)**2 / (2 * sigma**2))
    np.testing.assert_allclose(row, expected, atol=0.06)


@pytest.mark.parametrize('name,lo,hi', [('dropout', 0.2, 0.5),
                                        ('salt_pepper', 0.0, 0.1)])
def test_dropout_like_fractions(name, lo, hi):
    img = np.full((128, 128, 3), 100, dtype=np.uint8)
    for seed in range(5):
        changed = (apply_op(name, img, seed=seed) != 100).mean()
        assert lo - 0.02 <= changed <= hi + 0.02


def test_coarse_dropout_drops_square_cells():
    img = np.full((120, 120, 3), 100, dtype=np.uint8)
    out = apply_op('coarse_dropout', img)
    dropped = out == 0
    assert 0.1 < dropped.mean() < 0.3
    # Cells, not single pixels: most dropped pixels have a dropped neighbour.
    neighbour = dropped[1:, :, :] & dropped[:-1, :, :]
    assert neighbour.sum() > 0.4 * dropped.sum()


def test_multiply_and_jpeg_and_shuffle():
    img = make_results(h=64)['img']
    out = apply_op('multiply', img).astype(float)
    for c in range(3):
        ratio = out[..., c][img[..., c] > 40] / img[..., c][img[..., c] > 40]
        assert 0.25 - 0.02 <= np.median(ratio) <= 2.5 + 0.02
    smooth = cv2.GaussianBlur(img, (0, 0), 3)
    jpeg = apply_op('jpeg_compression', smooth).astype(int)
    assert 0 < np.abs(jpeg - smooth).mean() < 3
    shuffled = apply_op('channel_shuffle', img)
    assert sorted(shuffled.reshape(-1, 3).T.tolist()) == sorted(
        img.reshape(-1, 3).T.tolist())


def test_ops_drawn_without_replacement_in_pool_order():
    t = StrongAugment(num_ops=3)
    order = list(STRONG_OPS)
    seen = set()
    np.random.seed(0)
    for _ in range(200):
        names = t(make_results(h=8, w=8))['strong_ops']
        assert len(names) == 3 and len(set(names)) == 3
        idx = [order.index(n) for n in names]
        assert idx == sorted(idx)
        seen.update(names)
    assert seen == set(STRONG_OPS)


def test_reproducible_under_a_seed():
    t = TRANSFORMS.build(dict(type='StrongAugment', num_ops=3, magnitude=20))
    outs = []
    for seed in (5, 5, 6):
        np.random.seed(seed)
        outs.append(t(make_results())['img'])
    np.testing.assert_array_equal(outs[0], outs[1])
    assert not np.array_equal(outs[0], outs[2])


def test_bad_arguments_name_the_value():
    with pytest.raises(ValueError, match="'sharpen'.*valid ops are"):
        StrongAugment(ops=['blur', 'sharpen'])
    with pytest.raises(ValueError, match='magnitude=41'):
        StrongAugment(magnitude=41)
    with pytest.raises(ValueError, match='magnitude=-1'):
        StrongAugment(magnitude=-1)
    with pytest.raises(ValueError, match='num_ops=4'):
        StrongAugment(num_ops=4, ops=['blur', 'hsv', 'equalize'])
    with pytest.raises(TypeError, match='uint8'):
        StrongAugment()(dict(img=np.zeros((4, 4, 3), np.float32)))


def test_repr_shows_arguments():
    t = StrongAugment(num_ops=2, magnitude=10, ops=['hsv', 'blur'])
    assert repr(t) == ("StrongAugment(num_ops=2, magnitude=10, "
                       "max_magnitude=40, ops=['hsv', 'blur'])")
