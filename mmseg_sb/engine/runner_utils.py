# Copyright (c) mmseg_sb contributors. All rights reserved.
"""What the self-training hook needs of a Runner: its setup checked before
training, its labeler, the bare model and its saved weights, and a summary
of the optimizer's settings; and the same labeler for any images, built from
a config (tools/pseudo_label.py)."""
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
from mmengine.fileio import join_path
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner
from mmengine.utils import is_abs

from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS
from ..datasets import PseudoLabeledDataset
from ..models.utils import decode_stages
from ..utils import PSEUDO_LABEL_DIR, iter_dicts
from .pseudo_labeler import PseudoLabeler

#: The keys of a config's dataset that say which images it reads; the rest
#: (type, suffixes, classes, label map) says how to read and name them.
IMAGE_KEYS = ('data_root', 'data_prefix', 'ann_file', 'indices', 'pipeline',
              'lazy_init')


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
    decode_head = decode_stages(unwrap_model(runner))[-1]
    return PseudoLabeler(
        unlabeled.dataset,
        pipeline or labeling_pipeline(runner.cfg, tta),
        num_classes=decode_head.num_classes,
        gt_dir=unlabeled.gt_dir,
        ignore_index=decode_head.ignore_index,
        num_workers=num_workers,
        work_dir=runner.work_dir,
        tta=tta)


def build_image_labeler(cfg: Config,
                        model: nn.Module,
                        img_dir: Optional[str] = None,
                        ann_file: str = '',
                        tta: Optional[bool] = None,
                        num_workers: Optional[int] = None) -> PseudoLabeler:
    """A labeler of any images that labels them as the config's rounds do.

    The images are read as an MMSeg dataset of the config's own type (that
    of its unlabeled images, the first :class:`PseudoLabeledDataset`; else
    that of ``train_dataloader`` or ``test_dataloader``), so its
    ``img_suffix``, ``seg_map_suffix`` and classes are the config's, and
    wrapped as the hook wraps them. The labeling settings are those of the
    config's :class:`PseudoLabelHook` (its ``tta``, ``pipeline`` and
    ``num_workers``), as :func:`build_pseudo_labeler` gives them.

    Args:
        cfg (Config): The config the model was trained with (or an
            exported model's).
        model (nn.Module): The labeling model (its decode head gives
            ``num_classes`` and ``ignore_index``).
        img_dir (str, optional): The image folder: every file under it
            ending with ``img_suffix`` (as MMSeg's ``BaseSegDataset``
            without ``ann_file``), or, with ``ann_file``, the folder its
            lines are relative to. Defaults to the config's image folder
            (``data_root`` joined with ``data_prefix.img_path``).
        ann_file (str): A list of images in MMSeg's ann_file format
            (``city/name`` per line, without ``img_suffix``), or '' for
            all images of ``img_dir``. Defaults to ''.
        tta (bool, optional): Label with the config's ``tta_pipeline`` and
            MMSeg's :class:`SegTTAModel`. Defaults to the hook's ``tta``.
        num_workers (int, optional): Data loading workers. Defaults to the
            hook's ``num_workers``.

    Returns:
        PseudoLabeler: A labeler without a work dir: it labels into a given
        folder (:meth:`PseudoLabeler.label_folder`).

    Raises:
        ValueError: For a config without an MMSeg dataset, or no images.
    """
    hooks = iter_dicts([cfg.get('default_hooks'), cfg.get('custom_hooks')])
    hook = next(
        (d for d in hooks if _type_name(d.get('type')) == 'PseudoLabelHook'),
        {})
    hook_tta = hook.get('tta', False)  # PseudoLabelHook's defaults
    if num_workers is None:
        num_workers = hook.get('num_workers', 2)
    tta = hook_tta if tta is None else tta
    # The hook's own pipeline is for its own tta setting.
    pipeline = hook.get('pipeline') if tta == hook_tta else None
    dataset = _images_dataset_cfg(cfg)
    if img_dir is None:
        img_dir = (dataset.get('data_prefix') or {}).get('img_path', '')
        root = dataset.get('data_root')
        if root and not is_abs(img_dir):
            img_dir = join_path(root, img_dir)  # as BaseDataset joins it
    kept = {k: v for k, v in dataset.items() if k not in IMAGE_KEYS}
    images = PseudoLabeledDataset(
        dict(kept, data_prefix=dict(img_path=img_dir), ann_file=ann_file),
        lazy_init=True)
    found = images.dataset
    if not found.load_data_list():
        raise ValueError(
            f'{ann_file} lists no images; give a list of `city/name` lines'
            if ann_file else
            f'{img_dir} holds no images (files ending with "{found.img_suffix}'
            f'", the img_suffix of {type(found).__name__}); give the folder '
            'that holds them')
    found.full_init()
    decode_head = decode_stages(model)[-1]
    return PseudoLabeler(
        found,
        pipeline or labeling_pipeline(cfg, tta),
        num_classes=decode_head.num_classes,
        ignore_index=decode_head.ignore_index,
        num_workers=num_workers,
        tta=tta)


def _type_name(type_) -> Optional[str]:
    """The name of a config's ``type`` (a string or a class)."""
    return getattr(type_, '__name__', type_)


def _images_dataset_cfg(cfg: Config) -> dict:
    """The dataset config whose images the config's rounds label (that of
    its first :class:`PseudoLabeledDataset`), else its train or test
    dataset (an exported model's config has only the latter); a
    ``ValueError`` if none is an MMSeg dataset of images."""
    loaders = iter_dicts([cfg.get('train_cfg'), cfg.get('train_dataloader')])
    unlabeled = [
        d['dataset'] for d in loaders
        if _type_name(d.get('type')) == 'PseudoLabeledDataset'
    ]
    others = [(cfg.get(key) or {}).get('dataset')
              for key in ('train_dataloader', 'test_dataloader')]
    for dataset in unlabeled + others:
        given = dataset.get('type') if isinstance(dataset, dict) else None
        found = DATASETS.get(given) if isinstance(given, str) else given
        if isinstance(found, type) and issubclass(found, BaseSegDataset):
            return dataset
    raise ValueError(
        'The config has no MMSeg dataset to read the images as (with its '
        'img_suffix and seg_map_suffix): no PseudoLabeledDataset, and no '
        'train_dataloader.dataset or test_dataloader.dataset of a '
        'BaseSegDataset type. Give the config the model was trained with.')


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
