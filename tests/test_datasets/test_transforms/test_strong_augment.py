# Copyright (c) mmseg_sb contributors. All rights reserved.
import cv2
import numpy as np
import pytest

from mmseg.registry import TRANSFORMS
from mmseg_sb.datasets import STRONG_OPS, StrongAugment
from mmseg_sb.datasets.transforms.strong_ops import (_add_noise, _random_words,
                                                     _split_signed,
                                                     jpeg_quality)


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


def test_solarize_threshold_is_drawn_per_image_in_64_to_192():
    x = np.arange(256, dtype=np.uint8).reshape(16, 16, 1).repeat(3, 2)
    thresholds = set()
    for seed in range(40):
        out = apply_op('solarize', x, seed=seed)
        inverted = x[..., 0] != out[..., 0]
        t = int(x[..., 0][inverted].min())
        np.testing.assert_array_equal(out, np.where(x >= t, 255 - x, x))
        thresholds.add(t)
    assert min(thresholds) >= 64 and max(thresholds) <= 192
    assert len(thresholds) > 20  # not one fixed threshold
    assert min(thresholds) < 90 and max(thresholds) > 165


def test_equalize_spreads_lightness_and_keeps_colours(photo):
    dull = cv2.convertScaleAbs(photo, alpha=0.4, beta=70)
    out = apply_op('equalize', dull)
    lab_in = cv2.cvtColor(dull, cv2.COLOR_BGR2Lab).astype(int)
    lab_out = cv2.cvtColor(out, cv2.COLOR_BGR2Lab).astype(int)
    assert np.ptp(lab_in[..., 0]) < 120 and np.ptp(lab_out[..., 0]) > 230

    # Lightness equalised, its order kept (rank correlation).

    def ranks(a):
        return np.argsort(np.argsort(a.ravel(), kind='stable'))

    assert np.corrcoef(ranks(lab_in[..., 0]), ranks(lab_out[..., 0]))[0,
                                                                      1] > 0.98
    # Colour (a, b) kept, up to 8-bit Lab rounding; equalising each BGR
    # channel instead shifts it several times more.
    ab_shift = np.abs(lab_out[..., 1:] - lab_in[..., 1:]).mean()
    per_channel = cv2.merge([cv2.equalizeHist(c) for c in cv2.split(dull)])
    lab_pc = cv2.cvtColor(per_channel, cv2.COLOR_BGR2Lab).astype(int)
    assert ab_shift < 1.5
    assert np.abs(lab_pc[..., 1:] - lab_in[..., 1:]).mean() > 3 * ab_shift


@pytest.mark.parametrize('name', ['noise_gau', 'noise_pos'])
def test_noise_is_one_value_per_pixel_for_all_channels(name):
    flat = np.full((64, 64, 3), 128, dtype=np.uint8)
    delta = apply_op(name, flat).astype(int) - 128
    assert np.abs(delta).max() > 0
    np.testing.assert_array_equal(delta[..., 0], delta[..., 1])
    np.testing.assert_array_equal(delta[..., 0], delta[..., 2])


@pytest.mark.parametrize('shape,dtype', [((7, 13, 3), np.uint8),
                                         ((5, 3), np.uint16),
                                         ((64, 64, 3), np.uint8)])
def test_random_words_are_the_bytes_stream(shape, dtype):
    """The ops draw whole words: the same numbers as Generator.bytes."""
    words = _random_words(np.random.default_rng(3), shape, dtype)
    nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
    expected = np.frombuffer(np.random.default_rng(3).bytes(nbytes),
                             dtype).reshape(shape)
    assert words.dtype == dtype and words.shape == shape
    np.testing.assert_array_equal(words, expected)


def test_random_words_keep_the_stream_across_draws():
    """Draws after an odd number of words, and 32-bit draws after them,
    continue the generator's stream as Generator.integers would."""
    ours, ref = np.random.default_rng(7), np.random.default_rng(7)
    for count in (3, 1, 0, 6, 5, 2):  # words: 1.5, 0.5, 1 (bytes(0)), 3, ...
        np.testing.assert_array_equal(
            _random_words(ours, (count, ), np.uint16),
            np.frombuffer(ref.bytes(2 * count), np.uint16))
    assert ours.integers(0, 1 << 32, 3, dtype=np.uint32).tolist() == \
        ref.integers(0, 1 << 32, 3, dtype=np.uint32).tolist()
    assert ours.uniform() == ref.uniform()


def test_saturating_noise_equals_the_int16_sum():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)
    img[:5] = 0
    img[5:10] = 255
    table = rng.integers(-300, 300, 1000).astype(np.int16)
    index = rng.integers(0, 1000, (40, 50))
    expected = np.clip(
        img.astype(int) + table[index][..., None].clip(-255, 255), 0, 255)
    out = _add_noise(img, _split_signed(table), index)
    assert out.dtype == np.uint8 and out.shape == img.shape
    np.testing.assert_array_equal(out, expected)


def test_noise_statistics():
    flat = np.full((256, 256, 3), 128, dtype=np.uint8)
    gau = apply_op('noise_gau', flat)[..., 0].astype(float) - 128
    assert abs(gau.mean()) < 0.5
    assert gau.std() == pytest.approx((0.03 + 0.05 * 20 / 39) * 255, rel=0.03)
    pos = apply_op('noise_pos', flat)[..., 0].astype(float) - 128
    lam = 10 + 5 * 20 / 39
    assert abs(pos.mean()) < 0.5  # random sign
    assert np.abs(pos).mean() == pytest.approx(lam, rel=0.03)
    assert np.abs(pos).var() == pytest.approx(lam, rel=0.1)  # Poisson


def test_blur_kernel_is_about_3_3_sigma_wide():
    impulse = np.zeros((41, 41, 3), np.uint8)
    impulse[20, 20] = 255
    blurred = apply_op('blur', impulse).astype(float)[..., 0]
    sigma = 1.5 + 0.5 * 20 / 39  # 1.756: int(3.3 * sigma) = 5 taps
    assert (blurred[20, 23:] == 0).all() and (blurred[20, :18] == 0).all()
    assert (blurred[20, 18:23] > 0).all()
    expected = np.exp(-np.arange(-2, 3)**2 / (2 * sigma**2))
    expected = 255 * np.outer(expected, expected) / expected.sum()**2
    np.testing.assert_allclose(blurred[18:23, 18:23], expected, atol=1.0)


@pytest.mark.parametrize('name,lo,hi', [('dropout', 0.2, 0.5),
                                        ('salt_pepper', 0.0, 0.1)])
def test_dropout_like_fractions(name, lo, hi):
    img = np.full((128, 128, 3), 100, dtype=np.uint8)
    for seed in range(5):
        changed = (apply_op(name, img, seed=seed) != 100).mean()
        assert lo - 0.02 <= changed <= hi + 0.02


def test_salt_pepper_values_follow_beta_half_half():
    img = np.full((256, 256, 3), 100, dtype=np.uint8)
    outs = [apply_op('salt_pepper', img, seed=seed) for seed in range(10)]
    values = np.concatenate([out[out != 100] for out in outs]).astype(float)
    assert values.size > 10000
    for x in (10, 40, 90, 128, 170, 220, 245):
        cdf = 2 / np.pi * np.arcsin(np.sqrt((x + 0.5) / 255))
        assert (values <= x).mean() == pytest.approx(cdf, abs=0.02)
    # Mostly near 0 or 255, yet not only the two extremes.
    assert ((values > 60) & (values < 195)).mean() > 0.2


def fits_grid(mask, rows, cols):
    """Whether ``mask`` is constant in each cell of a ``rows x cols`` grid
    upscaled by nearest neighbour (source cell ``floor(i * rows / h)``)."""
    h, w = mask.shape
    row_cell = np.arange(h) * rows // h
    col_cell = np.arange(w) * cols // w
    first = np.searchsorted(row_cell, np.arange(rows))
    small = mask[first][:, np.searchsorted(col_cell, np.arange(cols))]
    return np.array_equal(small[row_cell][:, col_cell], mask)


def test_coarse_dropout_drops_large_cells_of_a_3_to_5_grid():
    img = np.full((120, 160, 3), 100, dtype=np.uint8)
    dropped, differs, boundaries = [], False, set()
    for seed in range(30):
        out = apply_op('coarse_dropout', img, seed=seed)
        keep = (out != 0).astype(np.uint8)
        for c in range(3):
            fits = [(rows, cols) for rows in (3, 4, 5) for cols in (3, 4, 5)
                    if fits_grid(keep[..., c], rows, cols)]
            assert fits, f'seed {seed}: channel {c} is not a coarse grid'
            boundaries.update(
                np.flatnonzero(np.diff(keep[..., c], axis=0).any(1)))
        dropped.append(1 - keep.mean())
        differs |= not (keep[..., 0] == keep[..., 1]).all()
    assert np.mean(dropped) == pytest.approx(0.2, abs=0.05)
    assert differs  # a mask per channel
    # Grids of several sizes: cell edges at thirds, quarters and fifths.
    assert {39, 29, 23} <= boundaries


def test_jpeg_quality_is_7_to_17(photo):
    assert (jpeg_quality(85), jpeg_quality(95)) == (17, 7)

    def error_at(quality):
        ok, buf = cv2.imencode('.jpg', photo,
                               [cv2.IMWRITE_JPEG_QUALITY, quality])
        return np.abs(cv2.imdecode(buf, cv2.IMREAD_COLOR).astype(int) -
                      photo).mean()

    errors = [
        np.abs(
            apply_op('jpeg_compression', photo, seed=seed).astype(int) -
            photo).mean() for seed in range(8)
    ]
    assert all(error_at(17) - 1e-9 <= e <= error_at(7) + 1e-9 for e in errors)
    assert len(set(errors)) > 1  # the quality is drawn per image
    assert min(errors) > 2 * error_at(85)  # heavy, not near-lossless


def test_multiply_and_shuffle():
    img = make_results(h=64)['img']
    out = apply_op('multiply', img).astype(float)
    for c in range(3):
        ratio = out[..., c][img[..., c] > 40] / img[..., c][img[..., c] > 40]
        assert 0.25 - 0.02 <= np.median(ratio) <= 2.5 + 0.02
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
