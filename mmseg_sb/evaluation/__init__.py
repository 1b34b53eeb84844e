# Copyright (c) mmseg_sb contributors. All rights reserved.
from .metrics import PseudoLabelMetric

__all__ = ['PseudoLabelMetric']
