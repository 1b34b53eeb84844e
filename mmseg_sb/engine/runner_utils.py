# Copyright (c) mmseg_sb contributors. All rights reserved.
"""What the self-training hook needs of a Runner: its setup checked before
training, its labeler, the bare model and its saved weights, fresh data
workers at a switch, and a summary of the optimizer's settings."""
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
from mmengine.runner.loops import _InfiniteDataloaderIterator

from ..datasets import SemiSegDataset, SemiSegSampler
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
    dataset = runner.train_dataloader.dataset
    decode_head = unwrap_model(runner).decode_head
    return PseudoLabeler(
        dataset.unlabeled_dataset,
        pipeline or labeling_pipeline(runner.cfg, tta),
        num_classes=decode_head.num_classes,
        gt_dir=dataset.unlabeled_gt_dir,
        ignore_index=decode_head.ignore_index,
        num_workers=num_workers,
        work_dir=runner.work_dir)


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


def restart_data_workers(runner: Runner) -> None:
    """Rebuild the training iterator so that no worker (persistent or not)
    and no prefetched batch predates a switch of the dataset."""
    loop = runner.train_loop
    old = loop.dataloader_iterator._iterator
    if hasattr(old, '_shutdown_workers'):
        old._shutdown_workers()
    loop.dataloader._iterator = None
    loop.dataloader_iterator = _InfiniteDataloaderIterator(loop.dataloader)


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
    """Clear errors, before training, for a setup that cannot work."""
    loader = runner.train_dataloader
    dataset = loader.dataset
    if not isinstance(dataset, SemiSegDataset):
        raise TypeError('PseudoLabelHook needs train_dataloader.dataset '
                        f'to be a SemiSegDataset, got '
                        f'{type(dataset).__name__}.')
    sampler = loader.sampler
    if not isinstance(sampler, SemiSegSampler):
        raise TypeError('PseudoLabelHook needs train_dataloader.sampler '
                        f'to be a SemiSegSampler, got '
                        f'{type(sampler).__name__}.')
    if sampler.batch_size != loader.batch_size:
        raise ValueError(
            f'SemiSegSampler batch_size={sampler.batch_size} differs '
            f'from train_dataloader batch_size={loader.batch_size}; '
            'set them to the same value.')
    dataset.full_init()
    labeled = {
        dataset.labeled_dataset.get_data_info(i)['img_path']
        for i in range(dataset.num_labeled)
    }
    overlap = sorted(
        labeled.intersection(
            dataset.unlabeled_dataset.get_data_info(i)['img_path']
            for i in range(dataset.num_unlabeled)))
    if overlap:
        raise ValueError(
            f'{len(overlap)} images are both labeled and unlabeled, e.g. '
            f'{overlap[:3]}; fix the split files (tools/splits.py '
            'checks them).')
