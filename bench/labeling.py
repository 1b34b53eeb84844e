# Copyright (c) mmseg_sb contributors. All rights reserved.
"""Images/s of the pseudo-labeling pass (PseudoLabeler: inference, PNG
writing, statistics against ground truth) vs bare model inference
(``model.test_step`` only) over the same images, dataloader and pipeline.

Both passes run twice, alternating; the best of each is reported.

Usage: python bench/labeling.py [--depth 18] [--height 256] [--images 40]
                                [--device cpu] [--out FILE]
"""
import argparse
import os.path as osp
import shutil
import tempfile
import time

import torch
from mmengine.dataset import pseudo_collate
from torch.utils.data import DataLoader

from mmseg.registry import DATASETS
from mmseg_sb.engine import PseudoLabeler
from mmseg_sb.engine.pseudo_labeler import LabelingDataset
from mmseg_sb.testing import make_synthetic_cityscapes

from _common import build, model_cfgs, report  # isort: skip

PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='PackSegInputs'),
]


def bare_inference(model, dataset, num_workers):
    loader = DataLoader(
        LabelingDataset(
            [dataset.get_data_info(i) for i in range(len(dataset))], PIPELINE),
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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--depth', type=int, default=18)
    parser.add_argument('--height', type=int, default=256)
    parser.add_argument('--images', type=int, default=40)
    parser.add_argument('--workers', type=int, default=2)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--out')
    args = parser.parse_args(argv)
    size = (args.height, 2 * args.height)
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
        labeler = PseudoLabeler(
            dataset,
            PIPELINE,
            num_classes=19,
            gt_dir=osp.join(tmp, 'gtFine/train'),
            num_workers=args.workers,
            progress=False)
        bare_inference(model, dataset, args.workers)  # warm-up
        bare, ours = [], []
        for rep in range(2):
            bare.append(bare_inference(model, dataset, args.workers))
            out = osp.join(tmp, f'pseudo_{rep}')
            ours.append(labeler.run(model, out)['images_per_s'])
    finally:
        shutil.rmtree(tmp)
    lines = [
        f'DeepLabV3+ R{args.depth}, {size[0]}x{size[1]} images, '
        f'{args.images} images, whole inference, {args.device}',
        '| pass | images/s |', '| --- | --- |',
        f'| pseudo-labeling (PNG writing + statistics) | {max(ours):.2f} |',
        f'| bare inference (model.test_step) | {max(bare):.2f} |',
        f'ratio labeling / bare inference: {max(ours) / max(bare):.3f} '
        '(target >= 0.85)'
    ]
    report(lines, args.out)


if __name__ == '__main__':
    main()
