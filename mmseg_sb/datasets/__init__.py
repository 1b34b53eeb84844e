# Copyright (c) mmseg_sb contributors. All rights reserved.
from .samplers import SemiSegSampler
from .semi_seg_dataset import SemiSegDataset
from .transforms import STRONG_OPS, StrongAugment

__all__ = ['SemiSegDataset', 'SemiSegSampler', 'StrongAugment', 'STRONG_OPS']
