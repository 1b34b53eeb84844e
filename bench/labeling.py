# Copyright (c) mmseg_sb contributors. All rights reserved.
"""Images/s of the pseudo-labeling pass (PseudoLabeler: inference, PNG
writing, statistics against ground truth) vs bare model inference
(``model.test_step`` only) over the same images, dataloader and pipeline.

Both passes run twice, alternating; the best of each is reported. Whole
image inference, and with ``--tta`` also MMSeg's test-time augmentation as
the self-training configs label (``tta_pipeline``: flip x 6 scales, through
``SegTTAModel``). With ``--precision``, each also under ``torch.autocast``
(fp16 on a GPU only).

Usage: python bench/labeling.py [--depth 18] [--height 256] [--images 40]
                                [--device cpu] [--tta]
                                [--precision fp32 bf16 ...] [--out FILE]
"""
import argparse
import contextlib
import os.path as osp
import shutil
import tempfile
import time

import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from torch.utils.data import DataLoader

from mmseg.models import SegTTAModel
from mmseg.registry import DATASETS
from mmseg_sb.engine import PseudoLabeler
from mmseg_sb.engine.pseudo_labeler import LabelingDataset
from mmseg_sb.engine.runner_utils import labeling_pipeline
from mmseg_sb.testing import make_synthetic_cityscapes

from _common import CONFIG, DTYPES, PRECISIONS, build  # isort: skip
from _common import model_cfgs, report, runs_on  # isort: skip

PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='PackSegInputs'),
]


def autocast(device, precision):
    if precision == 'fp32':
        return contextlib.nullcontext()
    return torch.autocast(device.split(':')[0], dtype=DTYPES[precision])


def bare_inference(model, dataset, num_workers, pipeline):
    loader = DataLoader(
        LabelingDataset(
            [dataset.get_data_info(i) for i in range(len(dataset))], pipeline),
        batch_size=1,
        num_workers=num_workers,
        collate_fn=pseudo_collate)
    start = time.perf_counter()
    with torch.no_grad():
        for data in loader:
            model.test_step(data)
    if next(model.parameters()).is_cuda:
        torch.cuda.synchronize()
    return len(dataset) / (time.perf_counter() - start)


def compare(model, dataset, labeler, pipeline, args, tmp, name):
    """Best-of-two images/s of (labeling, bare inference)."""
    bare_inference(model, dataset, args.workers, pipeline)  # warm-up
    bare, ours = [], []
    for rep in range(2):
        bare.append(bare_inference(model, dataset, args.workers, pipeline))
        out = osp.join(tmp, f'pseudo_{name}_{rep}')
        ours.append(labeler.run(model, out)['images_per_s'])
    return max(ours), max(bare)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--depth', type=int, default=18)
    parser.add_argument('--height', type=int, default=256)
    parser.add_argument('--images', type=int, default=40)
    parser.add_argument('--workers', type=int, default=2)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--tta', action='store_true')
    parser.add_argument(
        '--precision', nargs='+', choices=PRECISIONS, default=['fp32'])
    parser.add_argument('--out')
    args = parser.parse_args(argv)
    size = (args.height, 2 * args.height)
    modes = dict(whole=PIPELINE)
    if args.tta:
        modes['flip x 6 scales'] = labeling_pipeline(
            Config.fromfile(CONFIG), tta=True)
    lines = [
        f'DeepLabV3+ R{args.depth}, {size[0]}x{size[1]} images, '
        f'{args.images} images, {args.device}',
        '| inference | precision | pseudo-labeling (PNG writing + '
        'statistics), images/s | bare (model.test_step), images/s | '
        'ratio (target >= 0.85) |', '| --- | --- | --- | --- | --- |'
    ]
    tmp = tempfile.mkdtemp()
    try:
        make_synthetic_cityscapes(tmp, dict(train=args.images), size)
        dataset = DATASETS.build(
            dict(
                type='CityscapesDataset',
                data_root=tmp,
                data_prefix=dict(
                    img_path='leftImg8bit/train', seg_map_path='gtFine/train'),
                pipeline=[]))
        _, cfg = model_cfgs(args.depth, size)
        cfg.test_cfg = dict(mode='whole')
        model = build(cfg, args.device).eval()
        for mode, pipeline in modes.items():
            labeler = PseudoLabeler(
                dataset,
                pipeline,
                num_classes=19,
                gt_dir=osp.join(tmp, 'gtFine/train'),
                num_workers=args.workers,
                progress=False)
            net = model if mode == 'whole' else SegTTAModel(module=model)
            for precision in args.precision:
                if not runs_on(precision, args.device):
                    continue
                try:  # a failure is reported, the other rows still run
                    with autocast(args.device, precision):
                        ours, bare = compare(net, dataset, labeler, pipeline,
                                             args, tmp, f'{mode}_{precision}')
                except Exception as e:
                    failed = f'failed: {type(e).__name__}: {e}'[:160]
                    lines.append(f'| {mode} | {precision} | {failed} | | |')
                    continue
                lines.append(f'| {mode} | {precision} | {ours:.2f} | '
                             f'{bare:.2f} | {ours / bare:.3f} |')
    finally:
        shutil.rmtree(tmp)
    report(lines, args.out)


if __name__ == '__main__':
    main()
