# Copyright (c) mmseg_sb contributors. All rights reserved.
from .multi_source_sampler import MultiSourceSampler
from .semi_seg_sampler import SemiSegSampler

__all__ = ['MultiSourceSampler', 'SemiSegSampler']
