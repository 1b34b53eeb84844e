# Copyright (c) mmseg_sb contributors. All rights reserved.
from .compare import (SUPERVISED, RunSummary, collect_run, gaps_to_supervised,
                      markdown_table, method_of, runs_bar_chart, runs_table)
from .export import (export_model, export_state, plain_config, plain_model_cfg,
                     plain_state_dict)

__all__ = [
    'export_model', 'export_state', 'plain_config', 'plain_model_cfg',
    'plain_state_dict', 'SUPERVISED', 'RunSummary', 'collect_run',
    'gaps_to_supervised', 'markdown_table', 'method_of', 'runs_bar_chart',
    'runs_table'
]
