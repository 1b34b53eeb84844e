# Copyright (c) mmseg_sb contributors. All rights reserved.
from typing import Sequence

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness

from mmseg.registry import TRANSFORMS


@TRANSFORMS.register_module()
class GaussianBlur(BaseTransform):
    """Gaussian blur with a standard deviation drawn from ``U(sigma)``.

    UniMatch's strong views blur with sigma in [0.1, 2.0] with probability
    0.5 (wrap it in MMCV's ``RandomApply``). The kernel covers about three
    standard deviations each side (OpenCV's size for ``ksize=0``).

    Required Keys:

    - img

    Modified Keys:

    - img

    Args:
        sigma (tuple[float]): Range of the standard deviation in pixels.
            Defaults to (0.1, 2.0).
    """

    def __init__(self, sigma: Sequence[float] = (0.1, 2.0)) -> None:
        if not 0 < sigma[0] <= sigma[1]:
            raise ValueError(f'GaussianBlur sigma={sigma} must satisfy '
                             '0 < sigma[0] <= sigma[1].')
        self.sigma = tuple(sigma)

    @cache_randomness
    def _sample_sigma(self) -> float:
        return float(np.random.uniform(*self.sigma))

    def transform(self, results: dict) -> dict:
        sigma = self._sample_sigma()
        results['img'] = cv2.GaussianBlur(results['img'], (0, 0), sigma)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(sigma={self.sigma})'
