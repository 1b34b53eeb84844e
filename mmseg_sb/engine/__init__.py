# Copyright (c) mmseg_sb contributors. All rights reserved.
from .hooks import (AtomicCheckpointHook, CheckInputsHook, ExportModelHook,
                    ProgressBarHook, PseudoLabelHook, WorkDirLockHook)
from .pseudo_labeler import PseudoLabeler
from .runner import SelfTrainingLoop
from .schedulers import RoundPolyLR, RoundPolyParamScheduler

__all__ = [
    'AtomicCheckpointHook', 'CheckInputsHook', 'ExportModelHook',
    'ProgressBarHook', 'PseudoLabelHook', 'PseudoLabeler', 'RoundPolyLR',
    'RoundPolyParamScheduler', 'SelfTrainingLoop', 'WorkDirLockHook'
]
