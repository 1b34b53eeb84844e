# Copyright (c) mmseg_sb contributors. All rights reserved.
from .pseudo_labeled_dataset import PseudoLabeledDataset
from .samplers import MultiSourceSampler
from .self_training_dataset import SelfTrainingDataset
from .transforms import (STRONG_OPS, ColorJitter, GaussianBlur, MultiView,
                         RandomCutMixBox, StrongAugment)

__all__ = [
    'PseudoLabeledDataset', 'SelfTrainingDataset', 'MultiSourceSampler', 'StrongAugment',
    'STRONG_OPS', 'ColorJitter', 'GaussianBlur', 'MultiView', 'RandomCutMixBox'
]
