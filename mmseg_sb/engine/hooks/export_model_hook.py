# Copyright (c) mmseg_sb contributors. All rights reserved.
import os.path as osp

from mmengine.dist import master_only
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner

from mmseg.registry import HOOKS
from ...apis import export_state
from ..rounds import ROUND_INFO


@HOOKS.register_module()
class ExportModelHook(Hook):
    """Exports the final model as a plain MMSeg model at the end of training.

    Writes ``work_dir/<out_dir>/model-<hash>.pth`` and ``config.py`` (see
    :func:`mmseg_sb.apis.export_state`): MMSeg's ``EncoderDecoder`` with
    plain norm layers, which MMSeg alone loads, tests and deploys.

    Args:
        out_dir (str): Folder under the work dir. Defaults to ``'export'``.
    """

    priority = 'LOWEST'

    def __init__(self, out_dir: str = 'export') -> None:
        self.out_dir = out_dir

    @master_only
    def after_train(self, runner: Runner) -> None:
        """Export the model as it is after the last iteration."""
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        path = export_state(
            runner.cfg,
            model.state_dict(),
            osp.join(runner.work_dir, self.out_dir),
            round=runner.message_hub.get_info(ROUND_INFO),
            iteration=runner.iter)
        runner.logger.info(f'ExportModelHook: exported {path} and config.py '
                           'for MMSeg alone.')
