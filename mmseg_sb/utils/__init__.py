# Copyright (c) mmseg_sb contributors. All rights reserved.
from .checkpoint import (history_buffer_method, load_from_local,
                         load_state_dict, load_teacher,
                         mmengine_checkpoint_globals,
                         register_checkpoint_loader)
from .export import export_model, export_state, plain_config, plain_state_dict
from .label_round import (COMPLETE_MARKER, is_complete_round,
                          mark_round_complete, read_round_stats)
from .sample_keys import (CUTMIX_BOX, IS_PSEUDO, ONLINE_VIEWS, STRONG,
                          STRONG_1, STRONG_2, SUP, VIEW, VIEWS, WEAK)

__all__ = [
    'export_model', 'export_state', 'load_state_dict', 'load_teacher',
    'plain_config', 'plain_state_dict', 'IS_PSEUDO', 'VIEW', 'VIEWS', 'WEAK',
    'STRONG', 'history_buffer_method', 'load_from_local',
    'mmengine_checkpoint_globals', 'register_checkpoint_loader',
    'COMPLETE_MARKER', 'is_complete_round', 'mark_round_complete',
    'read_round_stats', 'CUTMIX_BOX', 'ONLINE_VIEWS', 'STRONG_1', 'STRONG_2',
    'SUP'
]
