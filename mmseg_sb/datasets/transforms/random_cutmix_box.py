# Copyright (c) mmseg_sb contributors. All rights reserved.
import math
from typing import Optional, Sequence, Tuple

import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness

from mmseg.registry import TRANSFORMS
from ...utils import CUTMIX_BOX


@TRANSFORMS.register_module()
class RandomCutMixBox(BaseTransform):
    """Draws the CutMix box of a strong view; the segmentor does the mixing.

    Yun et al., "CutMix", ICCV 2019, as used for segmentation by UniMatch
    (Yang et al., CVPR 2023): with probability ``prob`` a box whose area is a
    fraction ``U(area)`` of the image and whose aspect ratio (height / width)
    is ``U(aspect)`` is placed uniformly inside the image. The segmentor
    pastes the same box of another unlabeled image of the batch, and that
    image's pseudo label, into this view. The box is drawn here, in the data
    pipeline, so that it is reproducible under MMEngine's worker seeds.

    Required Keys:

    - img

    Added Keys:

    - cutmix_box (tuple[int] | None): ``(y1, x1, y2, x2)``, or None when the
      view is not mixed. Add it to ``PackSegInputs``'s ``meta_keys``.

    Args:
        prob (float): Probability that the view is mixed. Defaults to 0.5.
        area (tuple[float]): Range of the box's area as a fraction of the
            image. Defaults to (0.02, 0.4).
        aspect (tuple[float]): Range of the box's height / width. Defaults to
            (0.3, 1 / 0.3).
    """

    def __init__(
        self,
        prob: float = 0.5,
        area: Sequence[float] = (0.02, 0.4),
        aspect: Sequence[float] = (0.3, 1 / 0.3)
    ) -> None:
        if not 0 <= prob <= 1:
            raise ValueError(f'RandomCutMixBox prob={prob} must be in [0, 1].')
        if not 0 < area[0] <= area[1] <= 1:
            raise ValueError(f'RandomCutMixBox area={area} must satisfy '
                             '0 < area[0] <= area[1] <= 1.')
        if not 0 < aspect[0] <= aspect[1]:
            raise ValueError(f'RandomCutMixBox aspect={aspect} must satisfy '
                             '0 < aspect[0] <= aspect[1].')
        self.prob = prob
        self.area = tuple(area)
        self.aspect = tuple(aspect)

    @cache_randomness
    def _sample_box(self, height: int,
                    width: int) -> Optional[Tuple[int, int, int, int]]:
        if np.random.rand() >= self.prob:
            return None
        area = np.random.uniform(*self.area) * height * width
        aspect = np.random.uniform(*self.aspect)
        h = min(height, max(1, round(math.sqrt(area * aspect))))
        w = min(width, max(1, round(math.sqrt(area / aspect))))
        y1 = np.random.randint(0, height - h + 1)
        x1 = np.random.randint(0, width - w + 1)
        return int(y1), int(x1), int(y1 + h), int(x1 + w)

    def transform(self, results: dict) -> dict:
        height, width = results['img'].shape[:2]
        results[CUTMIX_BOX] = self._sample_box(height, width)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(prob={self.prob}, '
                f'area={self.area}, aspect={self.aspect})')
