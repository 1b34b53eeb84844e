# Copyright (c) mmseg_sb contributors. All rights reserved.
from .self_training_loop import SelfTrainingLoop

__all__ = ['SelfTrainingLoop']
