# Copyright (c) mmseg_sb contributors. All rights reserved.
from .export_model_hook import ExportModelHook
from .pseudo_label_hook import PseudoLabelHook

__all__ = ['ExportModelHook', 'PseudoLabelHook']
