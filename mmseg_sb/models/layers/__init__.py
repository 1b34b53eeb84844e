# Copyright (c) mmseg_sb contributors. All rights reserved.
from .dsbn import DSBN, convert_to_dsbn, dsbn_modules, dsbn_split

__all__ = ['DSBN', 'convert_to_dsbn', 'dsbn_modules', 'dsbn_split']
