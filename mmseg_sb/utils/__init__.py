# Copyright (c) mmseg_sb contributors. All rights reserved.
from .checkpoint import (history_buffer_method, load_from_local,
                         load_state_dict, load_teacher,
                         mmengine_checkpoint_globals, read_checkpoint,
                         register_checkpoint_loader)
from .config_utils import iter_dicts
from .label_round import (COMPLETE_MARKER, PSEUDO_LABEL_DIR, is_complete_round,
                          mark_round_complete, read_round_stats, round_dir)
from .run_logs import (class_ious, final_validation, latest_run_dir,
                       run_config, run_log, val_mious)
from .sample_keys import (CUTMIX_BOX, IS_PSEUDO, STRONG, STRONG_1, STRONG_2,
                          SUP, VIEWS, WEAK)
from .work_dir_lock import LOCK_FILE, WorkDirLock

__all__ = [
    'load_state_dict', 'load_teacher', 'read_checkpoint', 'IS_PSEUDO', 'VIEWS',
    'WEAK', 'STRONG', 'history_buffer_method', 'load_from_local',
    'mmengine_checkpoint_globals', 'register_checkpoint_loader',
    'COMPLETE_MARKER', 'is_complete_round', 'mark_round_complete',
    'read_round_stats', 'round_dir', 'PSEUDO_LABEL_DIR', 'CUTMIX_BOX',
    'STRONG_1', 'STRONG_2', 'SUP', 'iter_dicts', 'class_ious',
    'final_validation', 'latest_run_dir', 'run_config', 'run_log', 'val_mious',
    'LOCK_FILE', 'WorkDirLock'
]
