# Copyright (c) mmseg_sb contributors. All rights reserved.
"""End to end at full size: ``configs/sb_deeplabv3plus_r101_cityscapes_1-8.py``
as it is (DeepLabV3+ R101, 1024x2048 images, 769x769 crops, 2 + 2 images,
DSBN, labeling with flip x multi-scale TTA, whole-image validation, the
export), with only the counts cut, on generated images in Cityscapes' layout:
a teacher round, labeling, a student round as long, validation after each,
the export; then a fresh interpreter that never imports mmseg_sb loads the
export into MMSeg and its logits on a validation image are compared with the
self-training model's. This is where device bugs show that CPU tests cannot
catch: tensors left on the CPU, dtype mix-ups under AMP, SyncBN inside DSBN
in one process (MMEngine reverts it to BN).

``--tiny`` runs the same code on the demo config
(``configs/demo/sb_deeplabv3plus_r18_synthetic.py``: the same base config
with sizes shrunk for a CPU) and 64x128 images, labeling with TTA too.
``--amp`` trains with ``AmpOptimWrapper`` (fp16, dynamic loss scale), as
``tools/train.py --amp``.

Usage: python bench/end_to_end.py [--tiny] [--iters 30] [--amp]
                                  [--work-dir DIR] [--out FILE]
"""
import argparse
import os
import os.path as osp
import shutil
import subprocess
import sys
import time

import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

from mmseg_sb.testing import (make_synthetic_cityscapes, set_data_root,
                              val_mious)
from mmseg_sb.utils import read_round_stats, round_dir

from _common import REPO, report  # isort: skip
from _plain_logits import logits  # isort: skip

CONFIGS = dict(
    full='configs/sb_deeplabv3plus_r101_cityscapes_1-8.py',
    tiny='configs/demo/sb_deeplabv3plus_r18_synthetic.py')
#: (height, width) of the generated images.
SIZES = dict(full=(1024, 2048), tiny=(64, 128))
NUM_LABELED, NUM_UNLABELED, NUM_VAL = 4, 8, 4


class StageTimer(Hook):
    """Wall time of each training iteration and validation pass."""

    priority = 'VERY_LOW'

    def __init__(self):
        self.iter_s, self.val_s = [], []

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self._start = time.perf_counter()

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None):
        self.iter_s.append(time.perf_counter() - self._start)

    def before_val(self, runner):
        self._val_start = time.perf_counter()

    def after_val(self, runner):
        self.val_s.append(time.perf_counter() - self._val_start)


def prepare_data(cfg, data_root, size):
    """Generated images in Cityscapes' layout, and the ann files of the
    config's split; returns the path of a validation image."""
    shutil.rmtree(data_root, ignore_errors=True)
    names = make_synthetic_cityscapes(
        data_root, dict(train=NUM_LABELED + NUM_UNLABELED, val=NUM_VAL), size)
    unlabeled = cfg.train_cfg.student_dataloader.dataset.unlabeled.dataset
    for part, items in ((cfg.train_dataloader.dataset,
                         names['train'][:NUM_LABELED]),
                        (unlabeled, names['train'][NUM_LABELED:])):
        path = osp.join(data_root, part.ann_file)
        os.makedirs(osp.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            f.write('\n'.join(items) + '\n')
    return osp.join(data_root, 'leftImg8bit/val',
                    names['val'][0] + '_leftImg8bit.png')


def build_cfg(args, data_root, work_dir):
    """The config with its counts cut: two rounds of ``args.iters``."""
    cfg = Config.fromfile(osp.join(REPO, CONFIGS[args.mode]))
    rounds = [args.iters, args.iters]
    workers = 0 if args.mode == 'tiny' else 4
    options = {
        'work_dir': work_dir,
        'model.pretrained': None,  # no ImageNet download on the machine
        'default_hooks.pseudo_label.round_iters': rounds,
        'default_hooks.pseudo_label.tta': True,
        'default_hooks.pseudo_label.num_workers': workers,
        'train_cfg.val_interval': args.iters,
        'default_hooks.checkpoint.interval': args.iters,
        'default_hooks.logger.interval': 10,
    }
    for loader in ('train_dataloader', 'train_cfg.student_dataloader',
                   'val_dataloader', 'test_dataloader'):
        options[f'{loader}.num_workers'] = workers
        options[f'{loader}.persistent_workers'] = workers > 0
    if args.amp:
        options['optim_wrapper.type'] = 'AmpOptimWrapper'
        options['optim_wrapper.loss_scale'] = 'dynamic'
    cfg.merge_from_dict(options)
    set_data_root(cfg, data_root)
    return cfg


def plain_mmseg_logits(export_dir, image, device, out):
    """Logits of the export in a process without mmseg_sb."""
    result = subprocess.run([
        sys.executable,
        osp.join(REPO, 'bench', '_plain_logits.py'),
        osp.join(export_dir, 'config.py'),
        osp.join(export_dir, 'model.pth'), image, device, out
    ],
                            cwd=osp.dirname(out),
                            capture_output=True,
                            text=True)
    if result.returncode != 0:
        raise RuntimeError(f'plain MMSeg failed:\n{result.stderr[-3000:]}')
    return result.stdout.strip().splitlines()[-1], torch.load(out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--tiny', action='store_true')
    parser.add_argument('--iters', type=int, default=30)
    parser.add_argument('--amp', action='store_true')
    parser.add_argument('--work-dir', default='work_dirs/end_to_end')
    parser.add_argument('--out')
    args = parser.parse_args(argv)
    args.mode = 'tiny' if args.tiny else 'full'
    args.work_dir = osp.abspath(args.work_dir)  # the export check runs there
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    data_root = osp.join(args.work_dir, 'data') + '/'
    work_dir = osp.join(args.work_dir, 'run')
    shutil.rmtree(work_dir, ignore_errors=True)
    times = {}
    cfg = build_cfg(args, data_root, work_dir)
    start = time.perf_counter()
    image = prepare_data(cfg, data_root, SIZES[args.mode])
    times['data'] = time.perf_counter() - start
    runner = Runner.from_cfg(cfg)
    timer = StageTimer()
    runner.register_hook(timer)
    if device == 'cuda':
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    runner.train()
    times['train'] = time.perf_counter() - start
    stats = read_round_stats(round_dir(work_dir, 1))
    labeling_s = stats['num_images'] / stats['images_per_s']

    start = time.perf_counter()
    name, plain = plain_mmseg_logits(
        osp.join(work_dir, 'export'), image, device,
        osp.abspath(osp.join(work_dir, 'plain_logits.pth')))
    model = runner.model.module if hasattr(runner.model,
                                           'module') else runner.model
    ours = logits(model, image)
    times['export check'] = time.perf_counter() - start
    diff = (ours - plain.float()).abs().max().item()
    agree = (ours.argmax(1) == plain.argmax(1)).float().mean().item()
    tolerance = 1e-3 if device == 'cuda' else 1e-4
    mious = val_mious(work_dir)
    teacher, student = timer.iter_s[1:args.iters], timer.iter_s[args.iters +
                                                                1:]

    def median(xs):
        return sorted(xs)[len(xs) // 2] if xs else float('nan')

    lines = [
        f'{CONFIGS[args.mode]}, {SIZES[args.mode][0]}x'
        f'{SIZES[args.mode][1]} images ({NUM_LABELED} labeled, '
        f'{NUM_UNLABELED} unlabeled, {NUM_VAL} val), rounds of '
        f'{args.iters} iterations, {device}'
        f'{", AMP fp16" if args.amp else ""}', '| step | figure |',
        '| --- | --- |', f'| data generation | {times["data"]:.1f} s |',
        f'| teacher iteration (median) | {median(teacher):.3f} s |',
        f'| labeling, TTA (flip x 6 scales) | {stats["num_images"]} images, '
        f'{labeling_s:.1f} s, {stats["images_per_s"]:.2f} images/s |',
        f'| student iteration (median) | {median(student):.3f} s |',
        '| validation passes | ' + ', '.join(f'{s:.1f} s'
                                             for s in timer.val_s) + ' |',
        f'| whole run (runner.train) | {times["train"]:.1f} s |',
        '| val mIoU at each round end | ' +
        ', '.join(f'{m:.2f}' for m in mious.values()) + ' |',
        f'| pseudo-label mIoU | {stats.get("mIoU", float("nan")):.2f} |',
        f'| export loaded by plain MMSeg ({name}) and compared | '
        f'{times["export check"]:.1f} s |',
        f'| logits, max abs difference | {diff:.2e} (tolerance '
        f'{tolerance:.0e}) |', f'| argmax agreement | {100 * agree:.4f}% |'
    ]
    if device == 'cuda':
        lines.append('| peak GPU memory (max_memory_allocated) | '
                     f'{torch.cuda.max_memory_allocated() / 2**30:.2f} GiB |')
    lines.append('end to end: ' +
                 ('OK' if diff <= tolerance else 'FAILED: the export differs'))
    report(lines, args.out)
    if diff > tolerance:
        sys.exit(1)


if __name__ == '__main__':
    main()
