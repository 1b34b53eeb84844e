# Copyright (c) mmseg_sb contributors. All rights reserved.
from .layers import DSBN, convert_to_dsbn, dsbn_modules, dsbn_split
from .losses import SelfCorrectionLoss, self_correction_loss
from .segmentors import SemiSupervisedEncoderDecoder

__all__ = [
    'DSBN', 'convert_to_dsbn', 'dsbn_modules', 'dsbn_split',
    'SelfCorrectionLoss', 'self_correction_loss',
    'SemiSupervisedEncoderDecoder'
]
