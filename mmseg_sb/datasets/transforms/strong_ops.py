# Copyright (c) mmseg_sb contributors. All rights reserved.
"""The photometric operations of the strong augmentation pool.

Yuan et al., "A Simple Baseline for Semi-supervised Semantic Segmentation with
Strong Data Augmentation", ICCV 2021, section 3.2: each op is a small pure
function ``op(img, value, rng) -> img`` on a ``uint8`` image of shape
(H, W, C). ``value`` is the op's magnitude-indexed value (``None`` for ops
whose parameters are drawn at random) and ``rng`` is a
:class:`numpy.random.Generator` that supplies every random draw, so an op is
reproducible from its seed.

Speed matters (every pseudo sample of every iteration goes through three of
these ops in a data worker, on full-resolution images): point-wise ops use
256-entry lookup tables with ``cv2.LUT``; per-pixel random numbers are drawn
as raw 64-bit outputs of the bit generator (the same stream as
``Generator.bytes``, about six times faster) and mapped through inverse-CDF
tables; noise is added with OpenCV's saturating arithmetic on uint8 planes;
masks are applied with ``cv2.bitwise_and``; no op makes a float64 or int16
copy of the image. Each of these forms gives exactly the output of the plain
numpy one (``rng.bytes``, an int16 sum, a boolean mask) for the same draws.
"""
from functools import lru_cache
from typing import Callable, Dict, Optional, Tuple

import cv2
import numpy as np
from scipy.special import gammaln, ndtri

#: Levels of the 16-bit uniform draws used for inverse-CDF sampling.
_LEVELS = 1 << 16

#: Solarize inverts the values at or above a threshold drawn per image.
SOLARIZE_THRESHOLD_RANGE = (64.0, 192.0)
DROPOUT_P_RANGE = (0.2, 0.5)
#: Coarse dropout draws a low-resolution mask of rows x columns cells (each
#: drawn from this range, then raised to the minimum) and upscales it.
COARSE_DROPOUT_P = 0.2
COARSE_DROPOUT_SIZE_RANGE = (2, 5)
COARSE_DROPOUT_MIN_SIZE = 3
MULTIPLY_RANGE = (0.25, 2.5)
SALT_PEPPER_P_RANGE = (0.0, 0.1)
#: imgaug's JPEG ``compression`` (the inverse of quality), drawn per image.
JPEG_COMPRESSION_RANGE = (85.0, 95.0)
#: Gaussian blur kernel width in sigmas (99% of the weight), min 5 px.
BLUR_KERNEL_SIGMAS = 3.3
BLUR_MIN_KERNEL = 5


def _lut(img: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Apply a (256,) or (256, C) table with ``cv2.LUT``."""
    table = np.clip(np.rint(table), 0, 255).astype(np.uint8)
    if table.ndim == 2:
        table = table.reshape(1, 256, table.shape[1])
    out = cv2.LUT(img, table)
    return out.reshape(img.shape)


def _random_words(rng: np.random.Generator, shape: Tuple[int, ...],
                  dtype: type) -> np.ndarray:
    """Uniform integers over the whole range of ``dtype``.

    The numbers of ``rng.bytes``, which draws 32-bit words (at least one)
    with ``rng.integers`` and serialises them. numpy's default bit generator,
    PCG64, makes each pair of 32-bit words from one 64-bit output (low half
    first) and keeps an unused half for the next 32-bit draw; taking the raw
    64-bit outputs and keeping the half in the generator's state the same
    way is the same stream, about twice as fast as ``rng.integers`` and six
    times as ``rng.bytes``.

    Args:
        rng (np.random.Generator): The op's generator.
        shape (tuple[int]): Shape of the result.
        dtype (type): ``np.uint8`` or ``np.uint16``.

    Returns:
        np.ndarray: The integers, of ``shape`` and ``dtype``.
    """
    nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
    nwords = max(1, -(-nbytes // 4))  # as rng.bytes(0)
    bit_generator = rng.bit_generator
    if not isinstance(bit_generator, np.random.PCG64):
        words = rng.integers(0, 1 << 32, size=nwords, dtype=np.uint32)
    else:
        state = bit_generator.state
        kept = [state['uinteger']] if state['has_uint32'] else []
        raw = bit_generator.random_raw(-(-(nwords - len(kept)) // 2))
        words = raw.astype('<u8', copy=False).view('<u4')
        if kept:
            words = np.concatenate([np.array(kept, '<u4'), words])
        state = bit_generator.state
        state['has_uint32'] = int(words.size > nwords)
        state['uinteger'] = int(words[-1]) if words.size > nwords else 0
        bit_generator.state = state
    return words.view(np.uint8)[:nbytes].view(dtype).reshape(shape)


def _uniform_u16(rng: np.random.Generator, shape: Tuple[int,
                                                        ...]) -> np.ndarray:
    """Uniform integers in [0, 65536)."""
    return _random_words(rng, shape, np.uint16)


def _uniform_u8(rng: np.random.Generator, shape: Tuple[int,
                                                       ...]) -> np.ndarray:
    """Uniform integers in [0, 256)."""
    return _random_words(rng, shape, np.uint8)


def _split_signed(table: np.ndarray) -> np.ndarray:
    """An int16 noise table as a uint16 table of two saturated uint8 parts:
    the positive part in the low byte, the negative part in the high one."""
    positive = np.clip(table, 0, 255).astype(np.uint16)
    negative = np.clip(-table.astype(np.int32), 0, 255).astype(np.uint16)
    return positive | (negative << 8)


def _add_noise(img: np.ndarray, table: np.ndarray,
               index: np.ndarray) -> np.ndarray:
    """``clip(img + table[index])`` for one signed value per pixel, added to
    every channel; ``table`` is a :func:`_split_signed` table.

    At each pixel one of the two parts is 0, so a saturating add of the
    positive part and a saturating subtraction of the negative part clip as
    the int16 sum would, without an int16 copy of the image.
    """
    parts = table[index].view(np.uint8).reshape(*index.shape, 2)
    positive, negative = cv2.split(parts)
    channels = img.shape[2]
    out = cv2.add(img, cv2.merge([positive] * channels))
    out = cv2.subtract(out, cv2.merge([negative] * channels), dst=out)
    return out.reshape(img.shape)


def _mask(img: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """``img`` where ``keep`` (a 0/255 uint8 map of its shape) is 255, else
    0."""
    return cv2.bitwise_and(img, keep.reshape(img.shape)).reshape(img.shape)


@lru_cache(maxsize=64)
def _gaussian_table(scale: float) -> np.ndarray:
    """Inverse-CDF table of N(0, scale^2), rounded to integers, in
    :func:`_split_signed` form."""
    quantiles = (np.arange(_LEVELS) + 0.5) / _LEVELS
    return _split_signed(np.rint(ndtri(quantiles) * scale).astype(np.int16))


@lru_cache(maxsize=64)
def _signed_poisson_table(lam: float) -> np.ndarray:
    """Inverse-CDF table of a Poisson(lam) draw with a random sign.

    The low bit of the 16-bit index picks the sign and the other 15 bits the
    Poisson quantile, as imgaug's AdditivePoissonNoise flips the sign of each
    sample at random. In :func:`_split_signed` form.
    """
    half = _LEVELS // 2
    quantiles = (np.arange(half) + 0.5) / half
    k = np.arange(int(lam + 20 * np.sqrt(lam) + 20))
    cdf = np.cumsum(np.exp(k * np.log(lam) - lam - gammaln(k + 1)))
    magnitude = np.minimum(np.searchsorted(cdf, quantiles), k[-1])
    magnitude = magnitude.astype(np.int16)
    table = np.empty(_LEVELS, dtype=np.int16)
    table[0::2] = magnitude
    table[1::2] = -magnitude
    return _split_signed(table)


@lru_cache(maxsize=1)
def _arcsine_table() -> np.ndarray:
    """Inverse-CDF table of Beta(0.5, 0.5) * 255, rounded to uint8.

    The CDF of Beta(0.5, 0.5) is ``2 / pi * arcsin(sqrt(x))``, so its inverse
    is ``sin(pi * u / 2) ** 2``.
    """
    quantiles = (np.arange(_LEVELS) + 0.5) / _LEVELS
    return np.rint(255 * np.sin(np.pi * quantiles / 2)**2).astype(np.uint8)


def jpeg_quality(compression: float) -> int:
    """The JPEG quality of imgaug's ``compression`` in [0, 100]."""
    return int(np.clip(np.round(1 + 99 * (1 - compression / 101)), 1, 100))


def contrast_gamma(img: np.ndarray, value: float,
                   rng: np.random.Generator) -> np.ndarray:
    """Gamma contrast: ``255 * (x / 255) ** value``."""
    return _lut(img, 255.0 * (np.arange(256) / 255.0)**value)


def contrast_linear(img: np.ndarray, value: float,
                    rng: np.random.Generator) -> np.ndarray:
    """Linear contrast around 128: ``128 + value * (x - 128)``."""
    return _lut(img, 128.0 + value * (np.arange(256) - 128.0))


def brightness(img: np.ndarray, value: float,
               rng: np.random.Generator) -> np.ndarray:
    """Add ``value`` to every pixel."""
    return _lut(img, np.arange(256) + value)


def brightness_channel(img: np.ndarray, value: float,
                       rng: np.random.Generator) -> np.ndarray:
    """Add ``value`` to each channel.

    The pool lists it separately from :func:`brightness` (imgaug's
    ``Add(per_channel=True)``); with one fixed magnitude the value is the same
    for every channel, so it changes the image as :func:`brightness` does.
    """
    return _lut(img, np.arange(256) + value)


def equalize(img: np.ndarray, value: Optional[float],
             rng: np.random.Generator) -> np.ndarray:
    """Histogram equalisation of the lightness (Lab L) only.

    The a and b channels are kept, so colours (hue) stay; equalising each
    BGR channel would shift them. Expects a 3-channel BGR image.
    """
    lab = cv2.cvtColor(img, cv2.COLOR_BGR2Lab)
    lightness = cv2.equalizeHist(cv2.extractChannel(lab, 0))
    return cv2.cvtColor(
        cv2.insertChannel(lightness, lab, 0), cv2.COLOR_Lab2BGR)


def hsv(img: np.ndarray, value: float, rng: np.random.Generator) -> np.ndarray:
    """Add ``int(value)`` to hue and saturation (OpenCV's 8-bit HSV).

    Expects a 3-channel BGR image, as MMSeg loads it. The value is truncated
    to an integer as imgaug does, so M=20 of 40 (value 0.51) is a no-op.
    """
    shift = int(value)
    if shift == 0:
        return img.copy()
    h, s, v = cv2.split(cv2.cvtColor(img, cv2.COLOR_BGR2HSV))
    h = cv2.LUT(h, ((np.arange(256) + shift) % 180).astype(np.uint8))
    s = cv2.LUT(s, np.clip(np.arange(256) + shift, 0, 255).astype(np.uint8))
    return cv2.cvtColor(cv2.merge([h, s, v]), cv2.COLOR_HSV2BGR)


def invert_channel(img: np.ndarray, value: Optional[float],
                   rng: np.random.Generator) -> np.ndarray:
    """Swap the first and last channel (R and B)."""
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def blur(img: np.ndarray, value: float,
         rng: np.random.Generator) -> np.ndarray:
    """Gaussian blur with sigma ``value`` and a kernel about 3.3 sigma wide.

    The kernel width is ``int(max(3.3 * sigma, 5))`` made odd (imgaug's
    choice: 99% of the weight), narrower than OpenCV's default for the sigma.
    """
    ksize = int(max(BLUR_KERNEL_SIGMAS * value, BLUR_MIN_KERNEL))
    ksize += 1 - ksize % 2
    return cv2.GaussianBlur(
        img, (ksize, ksize),
        sigmaX=value,
        sigmaY=value,
        borderType=cv2.BORDER_REFLECT_101)


def noise_gau(img: np.ndarray, value: float,
              rng: np.random.Generator) -> np.ndarray:
    """Additive gaussian noise of standard deviation ``value``.

    One value per pixel, added to all its channels (``per_channel=False``).
    """
    index = _uniform_u16(rng, img.shape[:2])
    return _add_noise(img, _gaussian_table(float(value)), index)


def noise_pos(img: np.ndarray, value: float,
              rng: np.random.Generator) -> np.ndarray:
    """Additive Poisson(``value``) noise with a random sign.

    One value per pixel, added to all its channels (``per_channel=False``).
    """
    index = _uniform_u16(rng, img.shape[:2])
    return _add_noise(img, _signed_poisson_table(float(value)), index)


def channel_shuffle(img: np.ndarray, value: Optional[float],
                    rng: np.random.Generator) -> np.ndarray:
    """Permute the channels at random."""
    channels = cv2.split(img)
    return cv2.merge([channels[i] for i in rng.permutation(len(channels))])


def dropout(img: np.ndarray, value: Optional[float],
            rng: np.random.Generator) -> np.ndarray:
    """Set each element (pixel and channel) to 0 with p ~ U(0.2, 0.5)."""
    p = rng.uniform(*DROPOUT_P_RANGE)
    # 255 where the draw is at least round(p * 256), else 0.
    _, keep = cv2.threshold(
        _uniform_u8(rng, img.shape),
        round(p * 256) - 1, 255, cv2.THRESH_BINARY)
    return _mask(img, keep)


def coarse_dropout(img: np.ndarray, value: Optional[float],
                   rng: np.random.Generator) -> np.ndarray:
    """Drop a few large rectangles, independently per channel.

    A low-resolution mask of ``rows x cols`` cells (each drawn from
    ``{2, ..., 5}`` and raised to at least 3, once per image) holds one keep
    (1) or drop (0, p=0.2) per cell and channel; it is upscaled to the image
    with nearest-neighbour interpolation and multiplied in.
    """
    lo, hi = COARSE_DROPOUT_SIZE_RANGE
    rows, cols = np.maximum(
        rng.integers(lo, hi + 1, size=2), COARSE_DROPOUT_MIN_SIZE)
    h, w, c = img.shape
    keep = 255 * (rng.random((rows, cols, c)) >= COARSE_DROPOUT_P)
    keep = cv2.resize(
        keep.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST)
    return _mask(img, keep)


def multiply(img: np.ndarray, value: Optional[float],
             rng: np.random.Generator) -> np.ndarray:
    """Multiply each channel by its own factor ~ U(0.25, 2.5)."""
    factors = rng.uniform(*MULTIPLY_RANGE, size=img.shape[2])
    return _lut(img, np.arange(256)[:, None] * factors[None, :])


def salt_pepper(img: np.ndarray, value: Optional[float],
                rng: np.random.Generator) -> np.ndarray:
    """Replace each element with p ~ U(0, 0.1) by Beta(0.5, 0.5) * 255.

    The replacement values follow the arcsine law (mostly near 0 or 255,
    not exactly 0 and 255), drawn per element through an inverse-CDF table.
    """
    p = rng.uniform(*SALT_PEPPER_P_RANGE)
    hit = _uniform_u16(rng, img.shape) < round(p * _LEVELS)
    values = _arcsine_table()[_uniform_u16(rng, (np.count_nonzero(hit), ))]
    out = img.copy()
    np.place(out, hit, values)  # in order, as out[hit] = values
    return out


def solarize(img: np.ndarray, value: Optional[float],
             rng: np.random.Generator) -> np.ndarray:
    """Invert the values at or above a threshold ~ U(64, 192) per image."""
    threshold = rng.uniform(*SOLARIZE_THRESHOLD_RANGE)
    x = np.arange(256)
    return _lut(img, np.where(x >= threshold, 255 - x, x))


def jpeg_compression(img: np.ndarray, value: Optional[float],
                     rng: np.random.Generator) -> np.ndarray:
    """Re-encode as JPEG at quality 7 to 17 (heavy artefacts).

    imgaug's ``compression`` c ~ U(85, 95) is the inverse of the quality:
    ``quality = round(1 + 99 * (1 - c / 101))``.
    """
    quality = jpeg_quality(rng.uniform(*JPEG_COMPRESSION_RANGE))
    ok, buf = cv2.imencode('.jpg', img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError('cv2.imencode failed to encode the image as JPEG')
    return cv2.imdecode(buf, cv2.IMREAD_UNCHANGED).reshape(img.shape)


OpFunc = Callable[[np.ndarray, Optional[float], np.random.Generator],
                  np.ndarray]

#: The pool of the paper (section 3.2) and its release, in pool order:
#: name -> (op, value range).
#: A range of ``None`` marks ops whose parameters are drawn at random.
STRONG_OPS: Dict[str, Tuple[OpFunc, Optional[Tuple[float, float]]]] = {
    'contrast_gamma': (contrast_gamma, (0.5, 1.5)),
    'contrast_linear': (contrast_linear, (0.5, 2.0)),
    'brightness': (brightness, (-20.0, 50.0)),
    'brightness_channel': (brightness_channel, (-20.0, 50.0)),
    'equalize': (equalize, None),
    'hsv': (hsv, (-20.0, 20.0)),
    'invert_channel': (invert_channel, None),
    'blur': (blur, (1.5, 2.0)),
    'noise_gau': (noise_gau, (0.03 * 255, 0.08 * 255)),
    'noise_pos': (noise_pos, (10.0, 15.0)),
    'channel_shuffle': (channel_shuffle, None),
    'dropout': (dropout, None),
    'coarse_dropout': (coarse_dropout, None),
    'multiply': (multiply, None),
    'salt_pepper': (salt_pepper, None),
    'solarize': (solarize, None),
    'jpeg_compression': (jpeg_compression, None),
}
