# Copyright (c) mmseg_sb contributors. All rights reserved.
from .checkpoint import (history_buffer_method, load_from_local,
                         mmengine_checkpoint_globals,
                         register_checkpoint_loader)

__all__ = [
    'history_buffer_method', 'load_from_local', 'mmengine_checkpoint_globals',
    'register_checkpoint_loader'
]
