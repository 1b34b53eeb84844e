# Copyright (c) mmseg_sb contributors. All rights reserved.
"""The mIoU of one checkpoint on a chosen subset of a config's test images,
by MMSeg's own parts: the config's test dataset (narrowed by an
``ann_file``), the model's ``test_step`` and ``IoUMetric``. The demo uses it
to measure how much its validation mIoU moves between two disjoint draws of
validation images (the measurement noise of its results)."""
import contextlib
import logging
import os
import os.path as osp
from typing import Iterator, Sequence, Union

from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.evaluator import Evaluator
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope

from ..datasets.splits import write_ann_file
from .synthetic_cityscapes import set_data_root


@contextlib.contextmanager
def _quiet_current_logger() -> Iterator[None]:
    """Building the model (the checkpoint's path, DSBN's conversion) and
    ``IoUMetric`` (its per-class table) log to MMEngine's current logger,
    which is the last Runner's: keep them out of that run's log (where
    ``tools/compare.py --per-class`` would read the table as the run's own)
    and off its console, which the demo has closed."""
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def evaluate_subset(config: Union[str, Config],
                    checkpoint: str,
                    ann_file: str,
                    names: Sequence[str],
                    data_root: str = None,
                    batch_size: int = 8) -> float:
    """mIoU (in %, as ``IoUMetric`` logs it) of ``checkpoint`` on the test
    images ``names``.

    Args:
        config (str | Config): The model's config; its ``test_dataloader``
            gives the dataset type, pipeline and folders.
        checkpoint (str): The weights.
        ann_file (str): Where to write ``names`` in MMSeg's ``ann_file``
            format; the test dataset is built on it.
        names (Sequence[str]): The images, as an ``ann_file`` lists them
            (relative to the dataset's image folder, without suffix).
        data_root (str, optional): Point every dataset of the config here.
            Defaults to None: the config's own.
        batch_size (int): Images per ``test_step``. Defaults to 8.

    Returns:
        float: The mIoU over ``names``.
    """
    from mmseg.apis import init_model
    from mmseg.registry import DATASETS
    cfg = Config.fromfile(config) if isinstance(config, str) else \
        config.copy()
    if data_root is not None:
        set_data_root(cfg, data_root)
    write_ann_file(names, ann_file)
    init_default_scope('mmseg')
    dataset = DATASETS.build(
        dict(cfg.test_dataloader.dataset, ann_file=osp.abspath(ann_file)))
    with open(os.devnull, 'w') as null, contextlib.redirect_stdout(null), \
            _quiet_current_logger():
        model = init_model(cfg, checkpoint, device='cpu')
    evaluator = Evaluator(dict(type='IoUMetric', iou_metrics=['mIoU']))
    evaluator.dataset_meta = dataset.metainfo
    for start in range(0, len(dataset), batch_size):
        batch = pseudo_collate([
            dataset[i]
            for i in range(start, min(start + batch_size, len(dataset)))
        ])
        evaluator.process(model.test_step(batch), batch)
    with _quiet_current_logger():
        return evaluator.evaluate(len(dataset))['mIoU']
