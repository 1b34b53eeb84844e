# Copyright (c) mmseg_sb contributors. All rights reserved.
from .strong_augment import StrongAugment
from .strong_ops import STRONG_OPS

__all__ = ['StrongAugment', 'STRONG_OPS']
