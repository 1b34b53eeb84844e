# Copyright (c) mmseg_sb contributors. All rights reserved.
from .checkpoint import (load_from_local, mmengine_checkpoint_globals,
                         register_checkpoint_loader)

__all__ = [
    'load_from_local', 'mmengine_checkpoint_globals',
    'register_checkpoint_loader'
]
