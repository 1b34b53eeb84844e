# Copyright (c) mmseg_sb contributors. All rights reserved.
from .pseudo_label_metric import PseudoLabelMetric, write_png_atomic

__all__ = ['PseudoLabelMetric', 'write_png_atomic']
