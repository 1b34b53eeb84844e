# Copyright (c) mmseg_sb contributors. All rights reserved.
from .pseudo_labeled_dataset import PseudoLabeledDataset
from .samplers import MultiSourceSampler
from .semi_supervised_dataset import SemiSupervisedDataset
from .transforms import (STRONG_OPS, ColorJitter, GaussianBlur, MultiView,
                         RandomCutMixBox, StrongAugment)

__all__ = [
    'PseudoLabeledDataset', 'SemiSupervisedDataset', 'MultiSourceSampler',
    'StrongAugment', 'STRONG_OPS', 'ColorJitter', 'GaussianBlur', 'MultiView',
    'RandomCutMixBox'
]
