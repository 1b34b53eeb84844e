# Copyright (c) mmseg_sb contributors. All rights reserved.
from .multi_view_data_preprocessor import MultiViewDataPreProcessor

__all__ = ['MultiViewDataPreProcessor']
