# Copyright (c) mmseg_sb contributors. All rights reserved.
"""What the self-training hook needs of a Runner: its setup checked before
training, its labeler, the bare model and its saved weights, and a summary
of the optimizer's settings."""
import copy
import os
import os.path as osp
import tempfile
from collections import Counter
from typing import List, Optional

import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.dist import barrier, is_main_process
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner

from ..utils import PSEUDO_LABEL_DIR
from .pseudo_labeler import PseudoLabeler


def unwrap_model(runner: Runner) -> nn.Module:
    """The model without its DDP wrapper."""
    model = runner.model
    return model.module if is_model_wrapper(model) else model


def save_weights(runner: Runner, path: str) -> None:
    """Rank 0 saves the model's state dict to ``path``; all ranks wait."""
    if is_main_process():
        torch.save(unwrap_model(runner).state_dict(), path)
    barrier()


def load_weights(runner: Runner, path: str) -> None:
    """Load the state dict saved by :func:`save_weights` into the model."""
    unwrap_model(runner).load_state_dict(
        torch.load(path, map_location='cpu', weights_only=True))


def build_pseudo_labeler(runner: Runner, pipeline: Optional[List[dict]],
                         tta: bool, num_workers: int) -> PseudoLabeler:
    """The labeler of the run's unlabeled images, writing rounds under the
    work dir; ``pipeline`` defaults to the config's test (or TTA) pipeline
    without ``LoadAnnotations``."""
    check_writable(osp.join(runner.work_dir, PSEUDO_LABEL_DIR))
    unlabeled = runner.train_loop.unlabeled_dataset
    decode_head = unwrap_model(runner).decode_head
    return PseudoLabeler(
        unlabeled.dataset,
        pipeline or labeling_pipeline(runner.cfg, tta),
        num_classes=decode_head.num_classes,
        gt_dir=unlabeled.gt_dir,
        ignore_index=decode_head.ignore_index,
        num_workers=num_workers,
        work_dir=runner.work_dir,
        tta=tta)


def labeling_pipeline(cfg: Config, tta: bool) -> List[dict]:
    """The config's test pipeline (``tta_pipeline`` with ``tta``) without
    its annotation loading: the unlabeled images are labeled, not read with
    labels."""
    source = cfg.get('tta_pipeline') if tta else \
        cfg.test_dataloader.dataset.pipeline
    if source is None:
        raise ValueError('Labeling with tta=True needs a tta_pipeline in the '
                         "config (MMSeg's dataset configs define one).")
    pipeline = [
        copy.deepcopy(t) for t in source if t['type'] != 'LoadAnnotations'
    ]
    for t in pipeline:  # TestTimeAug lists its steps; drop annotations.
        if t['type'] == 'TestTimeAug':
            t['transforms'] = [
                step for step in t['transforms']
                if all(s['type'] != 'LoadAnnotations' for s in step)
            ]
    return pipeline


def optimizer_summary(runner: Runner) -> str:
    """Param groups counted by (lr, weight decay), e.g. ``'266 at lr 0.002,
    weight decay 0; 41 at lr 0.02, weight decay 0'``."""
    counts = Counter((g['lr'], g.get('weight_decay', 0))
                     for g in runner.optim_wrapper.optimizer.param_groups)
    return '; '.join(f'{n} at lr {lr:.6g}, weight decay {wd:.6g}'
                     for (lr, wd), n in sorted(counts.items()))


def check_writable(folder: str) -> None:
    """Raise a ``PermissionError`` naming ``folder`` if it cannot be
    written."""
    try:
        os.makedirs(folder, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder):
            pass
    except OSError as e:
        raise PermissionError(
            f'PseudoLabelHook cannot write pseudo labels to {folder} '
            f'({e}); choose a writable --work-dir.') from e


def check_self_training_setup(runner: Runner) -> None:
    """A clear error, before training, for no labeled images (round 0's
    ``train_dataloader``) or images both labeled and unlabeled."""
    unlabeled = runner.train_loop.unlabeled_dataset
    unlabeled.full_init()
    labeled = runner.train_dataloader.dataset
    if len(labeled) == 0:
        raise ValueError(
            'train_dataloader.dataset (the labeled images) is empty; check '
            'its data_root, data_prefix and ann_file.')
    labeled_paths = {
        labeled.get_data_info(i)['img_path']
        for i in range(len(labeled))
    }
    overlap = sorted(
        labeled_paths.intersection(
            unlabeled.get_data_info(i)['img_path']
            for i in range(len(unlabeled))))
    if overlap:
        raise ValueError(
            f'{len(overlap)} images are both labeled and unlabeled, e.g. '
            f'{overlap[:3]}; fix the split files (tools/splits.py '
            'checks them).')
