# Copyright (c) mmseg_sb contributors. All rights reserved.
from .color_jitter import ColorJitter
from .gaussian_blur import GaussianBlur
from .multi_view import MultiView
from .random_cutmix_box import RandomCutMixBox
from .strong_augment import StrongAugment
from .strong_ops import STRONG_OPS

__all__ = [
    'ColorJitter', 'GaussianBlur', 'MultiView', 'RandomCutMixBox',
    'StrongAugment', 'STRONG_OPS'
]
