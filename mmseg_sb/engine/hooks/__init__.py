# Copyright (c) mmseg_sb contributors. All rights reserved.
from .check_inputs_hook import CheckInputsHook
from .checkpoint_hook import AtomicCheckpointHook
from .export_model_hook import ExportModelHook
from .progress_bar_hook import ProgressBarHook
from .pseudo_label_hook import PseudoLabelHook
from .work_dir_lock_hook import WorkDirLockHook

__all__ = [
    'AtomicCheckpointHook', 'CheckInputsHook', 'ExportModelHook',
    'ProgressBarHook', 'PseudoLabelHook', 'WorkDirLockHook'
]
