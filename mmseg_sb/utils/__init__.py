# Copyright (c) mmseg_sb contributors. All rights reserved.
from .checkpoint import (history_buffer_method, load_from_local,
                         mmengine_checkpoint_globals,
                         register_checkpoint_loader)
from .sample_keys import IS_PSEUDO, STRONG, VIEW, VIEWS, WEAK

__all__ = [
    'IS_PSEUDO', 'VIEW', 'VIEWS', 'WEAK', 'STRONG', 'history_buffer_method',
    'load_from_local', 'mmengine_checkpoint_globals',
    'register_checkpoint_loader'
]
