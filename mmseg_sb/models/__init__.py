# Copyright (c) mmseg_sb contributors. All rights reserved.
from .data_preprocessors import MultiViewDataPreProcessor
from .layers import DSBN, convert_to_dsbn, dsbn_modules, dsbn_split
from .losses import SelfCorrectionLoss, self_correction_loss
from .segmentors import (FixMatchCascadeEncoderDecoder, FixMatchEncoderDecoder,
                         SemiSupervisedCascadeEncoderDecoder,
                         SemiSupervisedEncoderDecoder,
                         UniMatchCascadeEncoderDecoder, UniMatchEncoderDecoder)

__all__ = [
    'DSBN', 'convert_to_dsbn', 'dsbn_modules', 'dsbn_split',
    'SelfCorrectionLoss', 'self_correction_loss',
    'SemiSupervisedEncoderDecoder', 'UniMatchEncoderDecoder',
    'FixMatchEncoderDecoder', 'SemiSupervisedCascadeEncoderDecoder',
    'UniMatchCascadeEncoderDecoder', 'FixMatchCascadeEncoderDecoder',
    'MultiViewDataPreProcessor'
]
