# Copyright (c) mmseg_sb contributors. All rights reserved.
from .fixmatch_encoder_decoder import (FixMatchCascadeEncoderDecoder,
                                       FixMatchEncoderDecoder)
from .semi_segmentor_mixin import SemiSegmentorMixin
from .semi_supervised_encoder_decoder import (
    SemiSupervisedCascadeEncoderDecoder, SemiSupervisedEncoderDecoder)
from .unimatch_encoder_decoder import (UniMatchCascadeEncoderDecoder,
                                       UniMatchEncoderDecoder)

__all__ = [
    'FixMatchEncoderDecoder', 'SemiSegmentorMixin',
    'SemiSupervisedEncoderDecoder', 'UniMatchEncoderDecoder',
    'SemiSupervisedCascadeEncoderDecoder', 'UniMatchCascadeEncoderDecoder',
    'FixMatchCascadeEncoderDecoder'
]
