# Copyright (c) mmseg_sb contributors. All rights reserved.
from .multi_source_sampler import MultiSourceSampler

__all__ = ['MultiSourceSampler']
