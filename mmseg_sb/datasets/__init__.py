# Copyright (c) mmseg_sb contributors. All rights reserved.
from .samplers import MultiSourceSampler, SemiSegSampler
from .semi_seg_dataset import SemiSegDataset
from .transforms import (STRONG_OPS, ColorJitter, GaussianBlur, MultiView,
                         RandomCutMixBox, StrongAugment)

__all__ = [
    'SemiSegDataset', 'SemiSegSampler', 'MultiSourceSampler', 'StrongAugment',
    'STRONG_OPS', 'ColorJitter', 'GaussianBlur', 'MultiView', 'RandomCutMixBox'
]
