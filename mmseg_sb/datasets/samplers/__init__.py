# Copyright (c) mmseg_sb contributors. All rights reserved.
from .semi_seg_sampler import SemiSegSampler

__all__ = ['SemiSegSampler']
