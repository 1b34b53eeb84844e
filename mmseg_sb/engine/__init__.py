# Copyright (c) mmseg_sb contributors. All rights reserved.
from .hooks import PseudoLabelHook
from .pseudo_labeler import PseudoLabeler
from .schedulers import RoundPolyLR, RoundPolyParamScheduler

__all__ = [
    'PseudoLabelHook', 'PseudoLabeler', 'RoundPolyLR',
    'RoundPolyParamScheduler'
]
