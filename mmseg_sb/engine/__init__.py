# Copyright (c) mmseg_sb contributors. All rights reserved.
from .hooks import ExportModelHook, PseudoLabelHook
from .pseudo_labeler import PseudoLabeler
from .schedulers import RoundPolyLR, RoundPolyParamScheduler

__all__ = [
    'ExportModelHook', 'PseudoLabelHook', 'PseudoLabeler', 'RoundPolyLR',
    'RoundPolyParamScheduler'
]
