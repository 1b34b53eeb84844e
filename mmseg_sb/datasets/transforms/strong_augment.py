# Copyright (c) mmseg_sb contributors. All rights reserved.
from typing import List, Optional, Sequence, Tuple

import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness

from mmseg.registry import TRANSFORMS
from .strong_ops import STRONG_OPS

#: Upper bound of numpy seeds handed to an op's random generator.
_SEED_BOUND = 2**31


@TRANSFORMS.register_module()
class StrongAugment(BaseTransform):
    """RandAugment-style strong photometric augmentation of the paper.

    Yuan et al., "A Simple Baseline for Semi-supervised Semantic Segmentation
    with Strong Data Augmentation", ICCV 2021. ``num_ops`` ops are drawn
    without replacement from a pool of 17 photometric ops (see
    :data:`mmseg_sb.datasets.transforms.strong_ops.STRONG_OPS`) and applied in
    pool order. One magnitude level indexes each op's value range linearly:
    ``value = lo + (hi - lo) * magnitude / (max_magnitude - 1)``; ops without
    a range draw their parameters at random. Only the image changes: the
    segmentation maps are never touched, so the transform may sit anywhere in
    a pipeline. Applying it after the crop, as the configs of this project do,
    is equivalent for point-wise ops and much cheaper.

    Every random draw (which ops, and a seed for each op's pixel-level draws)
    comes from numpy's global generator inside :meth:`_sample_ops`, which
    MMEngine seeds per data worker, so results are reproducible under a seed.

    Required Keys:

    - img (np.uint8, shape (H, W, 3))

    Modified Keys:

    - img

    Added Keys:

    - strong_ops (list[str]): names of the ops applied, in order.

    Args:
        num_ops (int): Number of ops applied to each image. Defaults to 3.
        magnitude (float): Magnitude level in ``[0, max_magnitude]``.
            Defaults to 20.
        max_magnitude (float): Number of magnitude levels. Defaults to 40.
        ops (Sequence[str], optional): Names of the ops of the pool. Defaults
            to None, the full 17-op pool of the paper.
    """

    def __init__(self,
                 num_ops: int = 3,
                 magnitude: float = 20,
                 max_magnitude: float = 40,
                 ops: Optional[Sequence[str]] = None) -> None:
        if ops is None:
            ops = list(STRONG_OPS)
        unknown = [name for name in ops if name not in STRONG_OPS]
        if unknown:
            raise ValueError(
                f'StrongAugment got unknown op(s) {unknown}; valid ops are '
                f'{list(STRONG_OPS)}.')
        if len(set(ops)) != len(ops):
            raise ValueError(f'StrongAugment got repeated ops in {list(ops)}'
                             '; name each op once.')
        if not isinstance(num_ops, int) or not 0 <= num_ops <= len(ops):
            raise ValueError(
                f'StrongAugment num_ops={num_ops!r} must be an int in '
                f'[0, {len(ops)}] (the number of ops in the pool).')
        if max_magnitude <= 1:
            raise ValueError(f'StrongAugment max_magnitude={max_magnitude} '
                             'must be greater than 1.')
        if not 0 <= magnitude <= max_magnitude:
            raise ValueError(
                f'StrongAugment magnitude={magnitude} is outside '
                f'[0, max_magnitude={max_magnitude}]; pick a level in range '
                '(the paper uses 20 of 40).')
        self.num_ops = num_ops
        self.magnitude = magnitude
        self.max_magnitude = max_magnitude
        # Keep pool order whatever order the user listed the ops in.
        self.ops = [name for name in STRONG_OPS if name in ops]
        self.values = {name: self.op_value(name) for name in self.ops}

    def op_value(self, name: str) -> Optional[float]:
        """The value of op ``name`` at this magnitude, ``None`` if random."""
        value_range = STRONG_OPS[name][1]
        if value_range is None:
            return None
        lo, hi = value_range
        return lo + (hi - lo) * self.magnitude / (self.max_magnitude - 1)

    @cache_randomness
    def _sample_ops(self) -> List[Tuple[str, int]]:
        """Draw ``num_ops`` op names (in pool order) and a seed for each."""
        picked = np.sort(
            np.random.choice(len(self.ops), self.num_ops, replace=False))
        seeds = np.random.randint(_SEED_BOUND, size=self.num_ops)
        return [(self.ops[i], int(seed)) for i, seed in zip(picked, seeds)]

    def transform(self, results: dict) -> dict:
        """Apply the sampled ops to ``results['img']``.

        Args:
            results (dict): Result dict with a uint8 ``img``.

        Returns:
            dict: The result dict with the augmented ``img``.
        """
        img = results['img']
        if img.dtype != np.uint8 or img.ndim != 3:
            raise TypeError(
                'StrongAugment expects a uint8 image of shape (H, W, C), got '
                f'{img.dtype} {img.shape}; place it before Normalize-like '
                'transforms.')
        applied = []
        for name, seed in self._sample_ops():
            op = STRONG_OPS[name][0]
            img = op(img, self.values[name], np.random.default_rng(seed))
            applied.append(name)
        results['img'] = img
        results['strong_ops'] = applied
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(num_ops={self.num_ops}, '
                f'magnitude={self.magnitude}, '
                f'max_magnitude={self.max_magnitude}, ops={self.ops})')
