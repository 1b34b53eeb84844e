# Copyright (c) mmseg_sb contributors. All rights reserved.
from .cascade_encoder_decoders import (FixMatchCascadeEncoderDecoder,
                                       SemiSupervisedCascadeEncoderDecoder,
                                       UniMatchCascadeEncoderDecoder)
from .fixmatch_encoder_decoder import FixMatchEncoderDecoder
from .semi_segmentor_mixin import SemiSegmentorMixin
from .semi_supervised_encoder_decoder import SemiSupervisedEncoderDecoder
from .unimatch_encoder_decoder import UniMatchEncoderDecoder

__all__ = [
    'FixMatchEncoderDecoder', 'SemiSegmentorMixin',
    'SemiSupervisedEncoderDecoder', 'UniMatchEncoderDecoder',
    'SemiSupervisedCascadeEncoderDecoder', 'UniMatchCascadeEncoderDecoder',
    'FixMatchCascadeEncoderDecoder'
]
