# Copyright (c) mmseg_sb contributors. All rights reserved.
from .semi_supervised_encoder_decoder import SemiSupervisedEncoderDecoder

__all__ = ['SemiSupervisedEncoderDecoder']
