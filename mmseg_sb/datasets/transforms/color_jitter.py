# Copyright (c) mmseg_sb contributors. All rights reserved.
from typing import List, Tuple

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness

from mmseg.registry import TRANSFORMS


def _blend(img: np.ndarray, other, factor: float) -> np.ndarray:
    """``factor * img + (1 - factor) * other``, clipped to uint8."""
    out = factor * img.astype(np.float32) + (1 - factor) * np.asarray(
        other, np.float32)
    return np.clip(out, 0, 255).astype(np.uint8)


def _gray(img: np.ndarray) -> np.ndarray:
    """ITU-R 601 luma of a BGR image, shape (H, W, 1), float32."""
    return cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)[..., None].astype(np.float32)


def adjust_brightness(img: np.ndarray, factor: float) -> np.ndarray:
    return _blend(img, 0, factor)


def adjust_contrast(img: np.ndarray, factor: float) -> np.ndarray:
    return _blend(img, _gray(img).mean(), factor)


def adjust_saturation(img: np.ndarray, factor: float) -> np.ndarray:
    return _blend(img, _gray(img), factor)


def adjust_hue(img: np.ndarray, shift: float) -> np.ndarray:
    """Rotate the hue by ``shift`` turns (in [-0.5, 0.5])."""
    hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV_FULL)
    hsv[..., 0] = (hsv[..., 0].astype(np.int32) + round(shift * 256)) % 256
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR_FULL)


_ADJUST = (adjust_brightness, adjust_contrast, adjust_saturation, adjust_hue)


@TRANSFORMS.register_module()
class ColorJitter(BaseTransform):
    """Random brightness, contrast, saturation and hue, in random order.

    The meaning of torchvision's ``ColorJitter``, which UniMatch's strong
    views use (``ColorJitter(0.5, 0.5, 0.5, 0.25)`` applied with probability
    0.8): brightness, contrast and saturation factors are drawn from
    ``U(max(0, 1 - v), 1 + v)`` and blend the image with black, its mean grey
    level and its grey image; the hue is rotated by ``U(-hue, hue)`` turns.
    Wrap it in MMCV's ``RandomApply`` for a probability.

    Required Keys:

    - img (np.uint8, BGR)

    Modified Keys:

    - img

    Args:
        brightness (float): Defaults to 0.
        contrast (float): Defaults to 0.
        saturation (float): Defaults to 0.
        hue (float): In [0, 0.5]. Defaults to 0.
    """

    def __init__(self,
                 brightness: float = 0.,
                 contrast: float = 0.,
                 saturation: float = 0.,
                 hue: float = 0.) -> None:
        if min(brightness, contrast, saturation, hue) < 0 or hue > 0.5:
            raise ValueError(
                f'ColorJitter(brightness={brightness}, contrast={contrast}, '
                f'saturation={saturation}, hue={hue}) needs non-negative '
                'values and hue <= 0.5.')
        self.brightness = brightness
        self.contrast = contrast
        self.saturation = saturation
        self.hue = hue

    @cache_randomness
    def _sample(self) -> List[Tuple[int, float]]:
        """The ops in their random order, each with its drawn value; an op
        with a zero range is left out."""
        ranges = [(max(0., 1 - v), 1 + v)
                  for v in (self.brightness, self.contrast, self.saturation)]
        ranges.append((-self.hue, self.hue))
        spans = (self.brightness, self.contrast, self.saturation, self.hue)
        return [(i, float(np.random.uniform(*ranges[i])))
                for i in np.random.permutation(4) if spans[i] > 0]

    def transform(self, results: dict) -> dict:
        img = results['img']
        for i, value in self._sample():
            img = _ADJUST[i](img, value)
        results['img'] = img
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(brightness={self.brightness}, '
                f'contrast={self.contrast}, saturation={self.saturation}, '
                f'hue={self.hue})')
