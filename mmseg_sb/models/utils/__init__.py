# Copyright (c) mmseg_sb contributors. All rights reserved.
from .cutmix import box_masks, cutmix, partners
from .loss_dict import (LOSS_PREFIX, SUP_PREFIX, UNSUP_PREFIX, loss_term,
                        reweight_loss_dict)

__all__ = [
    'box_masks', 'cutmix', 'partners', 'LOSS_PREFIX', 'SUP_PREFIX',
    'UNSUP_PREFIX', 'loss_term', 'reweight_loss_dict'
]
