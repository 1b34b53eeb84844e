# Copyright (c) mmseg_sb contributors. All rights reserved.
from .round_poly_lr import RoundPolyLR, RoundPolyParamScheduler

__all__ = ['RoundPolyLR', 'RoundPolyParamScheduler']
