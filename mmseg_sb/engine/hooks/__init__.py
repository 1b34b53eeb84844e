# Copyright (c) mmseg_sb contributors. All rights reserved.
from .pseudo_label_hook import PseudoLabelHook

__all__ = ['PseudoLabelHook']
