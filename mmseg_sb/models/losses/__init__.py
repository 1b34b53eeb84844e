# Copyright (c) mmseg_sb contributors. All rights reserved.
from .self_correction_loss import SelfCorrectionLoss, self_correction_loss

__all__ = ['SelfCorrectionLoss', 'self_correction_loss']
