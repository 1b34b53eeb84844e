# Copyright (c) mmseg_sb contributors. All rights reserved.
"""The built-in demo: the whole method on generated data, on a CPU.

1. Writes a small dataset in Cityscapes' layout (``data/synthetic_cityscapes``)
   and a split with few labeled images.
2. Trains the supervised baseline
   (``configs/demo/sup_deeplabv3plus_r18_synthetic.py``: labeled images only,
   the same model and total iterations).
3. Runs ``configs/demo/sb_deeplabv3plus_r18_synthetic.py`` (the real
   self-training config, shrunk) through MMEngine's Runner: the teacher
   (round 0), labeling, student rounds with relabeling, validation at the end
   of every round on the same validation images.
4. Prints a table: supervised-only mIoU, each round's pseudo-label mIoU and
   mIoU after the round.

Usage: python tools/demo.py [--work-dir DIR] [--cfg-options ...]
"""
import argparse
import json
import os
import os.path as osp
import shutil
import time

from mmengine.config import Config, DictAction
from mmengine.runner import Runner

from mmseg_sb.datasets import make_synthetic_cityscapes
from mmseg_sb.datasets.splits import draw_split, write_ann_file
from mmseg_sb.engine import PseudoLabelHook
from mmseg_sb.engine.hooks.pseudo_label_hook import COMPLETE_MARKER

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
SB_CONFIG = osp.join(REPO, 'configs/demo/sb_deeplabv3plus_r18_synthetic.py')
SUP_CONFIG = osp.join(REPO, 'configs/demo/sup_deeplabv3plus_r18_synthetic.py')
#: The demo data: images per split, labeled train images, image size.
NUM_IMAGES = dict(train=120, val=40)
NUM_LABELED = 12
IMG_SIZE = (64, 128)
SEED = 0


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--data-root', default='data/synthetic_cityscapes')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args()


def prepare_data(data_root: str, split: str) -> None:
    """Write the dataset and the split files (same seed, same files)."""
    shutil.rmtree(data_root, ignore_errors=True)
    names = make_synthetic_cityscapes(data_root, NUM_IMAGES, IMG_SIZE, SEED)
    labeled, unlabeled = draw_split(names['train'], NUM_LABELED, SEED)
    split_dir = osp.join(data_root, 'splits', split)
    write_ann_file(labeled, osp.join(split_dir, 'labeled.txt'))
    write_ann_file(unlabeled, osp.join(split_dir, 'unlabeled.txt'))
    print(f'Demo data: {len(labeled)} labeled, {len(unlabeled)} unlabeled, '
          f'{NUM_IMAGES["val"]} val images of {IMG_SIZE[1]}x{IMG_SIZE[0]} '
          f'in Cityscapes layout under {data_root}')


def val_mious(log_dir: str) -> dict:
    """Validation mIoU per iteration, from MMEngine's scalars.json."""
    with open(osp.join(log_dir, 'vis_data', 'scalars.json')) as f:
        rows = [json.loads(line) for line in f]
    return {r['step']: r['mIoU'] for r in rows if 'mIoU' in r}


def result_rows(sup_runner: Runner, sb_runner: Runner) -> list:
    """(stage, iterations, pseudo-label mIoU, val mIoU) per row."""
    sup_mious = val_mious(sup_runner.log_dir)
    last = max(sup_mious)
    rows = [('supervised only (labeled images)', last, '-',
             f'{sup_mious[last]:.2f}')]
    hook = next(h for h in sb_runner.hooks if isinstance(h, PseudoLabelHook))
    mious = val_mious(sb_runner.log_dir)
    end = 0
    for r, iters in enumerate(hook.round_iters):
        end += iters
        pseudo = '-'
        if r > 0:
            with open(osp.join(hook.round_dir(r), COMPLETE_MARKER)) as f:
                pseudo = f'{100 * json.load(f)["mIoU"]:.2f}'
        stage = 'self-training round 0 (teacher)' if r == 0 else \
            f'self-training round {r} (student)'
        rows.append((stage, end, pseudo, f'{mious[end]:.2f}'))
    return rows


def print_table(rows: list) -> None:
    header = ('stage', 'iterations', 'pseudo-label mIoU', 'val mIoU')
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(4)]
    line = '+' + '+'.join('-' * (w + 2) for w in widths) + '+'
    print(line)
    for row in [header] + rows:
        print('| ' + ' | '.join(str(c).ljust(w)
                                for c, w in zip(row, widths)) + ' |')
        if row is header:
            print(line)
    print(line)


def build_runner(config: str, args, data_root: str, work_dir: str) -> Runner:
    cfg = Config.fromfile(config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    cfg.work_dir = work_dir
    # Two runners in one process: keep their visualizers (scalars) apart.
    cfg.visualizer.name = f'visualizer_{osp.basename(work_dir)}'
    dataset = cfg.train_dataloader.dataset
    for part in (dataset.get('labeled'), dataset.get('unlabeled'), dataset,
                 cfg.val_dataloader.dataset, cfg.test_dataloader.dataset):
        if part is not None and 'data_root' in part:
            part.data_root = data_root
    shutil.rmtree(work_dir, ignore_errors=True)
    os.makedirs(work_dir)
    return Runner.from_cfg(cfg)


def main():
    args = parse_args()
    start = time.time()
    data_root = args.data_root.rstrip('/') + '/'
    prepare_data(data_root, Config.fromfile(SB_CONFIG).split)
    print('Training the supervised baseline ...')
    sup_runner = build_runner(SUP_CONFIG, args, data_root,
                              osp.join(args.work_dir, 'sup'))
    sup_runner.train()
    print('Self-training: teacher, labeling, students ...')
    sb_runner = build_runner(SB_CONFIG, args, data_root,
                             osp.join(args.work_dir, 'sb'))
    sb_runner.train()

    print('\nSelf-training on generated Cityscapes-layout data '
          f'({NUM_LABELED} labeled, {NUM_IMAGES["train"] - NUM_LABELED} '
          f'unlabeled images; mIoU on the same {NUM_IMAGES["val"]} val '
          'images)')
    print_table(result_rows(sup_runner, sb_runner))
    print(f'Total time: {time.time() - start:.0f} s; logs, checkpoints and '
          f'pseudo labels in {args.work_dir}')


if __name__ == '__main__':
    main()
