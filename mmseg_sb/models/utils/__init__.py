# Copyright (c) mmseg_sb contributors. All rights reserved.
from .cutmix import box_masks, cutmix, partners
from .head_outputs import (LOSS_FIELDS, TRAIN_LOGITS_INDEX, check_decode_head,
                           check_loss_fields, decode_stages, samples_points,
                           select_rows, takes_samples, train_logits)
from .loss_dict import (LOSS_PREFIX, SUP_PREFIX, UNSUP_PREFIX, loss_term,
                        reweight_loss_dict)

__all__ = [
    'box_masks', 'cutmix', 'partners', 'LOSS_FIELDS', 'TRAIN_LOGITS_INDEX',
    'check_loss_fields', 'check_decode_head', 'decode_stages',
    'samples_points', 'select_rows', 'takes_samples', 'train_logits',
    'LOSS_PREFIX', 'SUP_PREFIX', 'UNSUP_PREFIX', 'loss_term',
    'reweight_loss_dict'
]
