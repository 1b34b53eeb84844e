# Copyright (c) mmseg_sb contributors. All rights reserved.
from .checkpoint_hook import AtomicCheckpointHook
from .export_model_hook import ExportModelHook
from .progress_bar_hook import ProgressBarHook
from .pseudo_label_hook import PseudoLabelHook

__all__ = [
    'AtomicCheckpointHook', 'ExportModelHook', 'ProgressBarHook',
    'PseudoLabelHook'
]
