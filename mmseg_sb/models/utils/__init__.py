# Copyright (c) mmseg_sb contributors. All rights reserved.
from .cutmix import box_masks, cutmix, partners

__all__ = ['box_masks', 'cutmix', 'partners']
