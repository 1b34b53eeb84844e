# Copyright (c) mmseg_sb contributors. All rights reserved.
"""Make the semi-supervised split files the configs read.

Writes ``<data_root>/splits/<name>/{labeled,unlabeled}.txt`` in MMSeg's
ann_file format (the image's path below the image folder, without suffix:
``city/name`` for Cityscapes), after checking counts, overlap and that every
image exists under ``<data_root>/<img-dir>`` (``leftImg8bit/train``). Any
MMSeg dataset type works with ``draw`` and ``check`` (``--dataset``: its
suffixes and label format are the defaults).

Convert community lists (UniMatch/CPS/AugSeg or U2PL format)::

    python tools/splits.py convert data/cityscapes --name 1-8 \\
        --labeled path/to/1_8/labeled.txt --unlabeled path/to/1_8/unlabeled.txt

Draw a seeded split (by count or fraction; the unlabeled part is the rest)::

    python tools/splits.py draw data/cityscapes --name 1-8 --fraction 0.125 \\
        --seed 0

Check existing split files, as a training run checks them before it starts
(blank lines, every image and label decoded, label values within the
classes; ``--no-decode`` only looks for the files)::

    python tools/splits.py check data/cityscapes --name 1-8

ADE20K (or ``--dataset BaseSegDataset --img-suffix .jpg --seg-suffix .png``
for your own layout)::

    python tools/splits.py draw data/ade/ADEChallengeData2016 --name 1-8 \
        --dataset ADE20KDataset --img-dir images/training --fraction 0.125
    python tools/splits.py check data/ade/ADEChallengeData2016 --name 1-8 \
        --dataset ADE20KDataset --img-dir images/training \
        --seg-dir annotations/training
"""
import argparse
import inspect
import os.path as osp
import sys

from mmseg.registry import DATASETS
from mmseg.utils import register_all_modules
from mmseg_sb.datasets.file_check import check_dataset_files
from mmseg_sb.datasets.splits import (CITYSCAPES_SPLITS, check_split,
                                      draw_split, list_images, read_ann_file,
                                      read_split_list, write_ann_file)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = parser.add_subparsers(dest='command', required=True)
    for name in ('convert', 'draw', 'check'):
        p = sub.add_parser(name)
        p.add_argument('data_root', help='dataset root folder')
        p.add_argument('--name', required=True, help='split name, e.g. 1-8')
        if name != 'convert':  # community lists are Cityscapes'
            p.add_argument(
                '--dataset',
                default='CityscapesDataset',
                help="MMSeg dataset type, e.g. ADE20KDataset (its suffixes "
                "and label format are the defaults); 'BaseSegDataset' for "
                'your own layout')
            p.add_argument(
                '--img-suffix',
                help="image suffix (default: the dataset's, e.g. "
                "'_leftImg8bit.png', '.jpg')")
        p.add_argument(
            '--img-dir',
            default='leftImg8bit/train',
            help='image folder of both lists, relative to data_root '
            '(ADE20K: images/training)')
        p.add_argument(
            '--num-labeled',
            type=int,
            help='expected labeled count (default: the community count of '
            'a 1-16/1-8/1-4/1-2 split)')
        if name == 'convert':
            p.add_argument('--labeled', required=True)
            p.add_argument('--unlabeled', required=True)
        if name == 'draw':
            p.add_argument('--fraction', type=float)
            p.add_argument('--seed', type=int, default=0)
        if name == 'check':
            p.add_argument(
                '--seg-dir',
                default='gtFine/train',
                help='label folder of the labeled list, relative to '
                'data_root (ADE20K: annotations/training)')
            p.add_argument(
                '--seg-suffix',
                help="label suffix (default: the dataset's, e.g. "
                "'_gtFine_labelTrainIds.png', '.png')")
            p.add_argument(
                '--no-decode',
                action='store_true',
                help='only check that the files exist')
    return parser.parse_args(argv)


def dataset_suffixes(dataset: str) -> dict:
    """The ``img_suffix`` and ``seg_map_suffix`` that MMSeg's dataset type
    ``dataset`` sets, where it can be built without reading anything, else
    the defaults its constructor names (empty where it names none)."""
    cls = DATASETS.get(dataset)
    if cls is None:
        sys.exit(f'--dataset {dataset} is not an MMSeg dataset type; e.g. '
                 'CityscapesDataset, ADE20KDataset or BaseSegDataset.')
    keys = ('img_suffix', 'seg_map_suffix')
    try:
        built = DATASETS.build(dict(type=dataset, lazy_init=True))
        return {key: getattr(built, key) for key in keys}
    except Exception:  # e.g. REFUGE checks its folders when built
        params = inspect.signature(cls.__init__).parameters
        return {
            key: params[key].default
            for key in keys if key in params
            and params[key].default is not inspect.Parameter.empty
        }


def check_split_files(data_root: str, split_dir: str, dataset: str,
                      img_dir: str, seg_dir: str, suffixes: dict,
                      decode: bool) -> None:
    """Check the split's files as CheckInputsHook does before training: the
    ann files as MMSeg reads them, the labeled images with their labels
    (values as the dataset reads them, e.g. ADE20K's reduce_zero_label) and
    the unlabeled images."""
    parts = []
    for part, prefix in (('labeled',
                          dict(img_path=img_dir, seg_map_path=seg_dir)),
                         ('unlabeled', dict(img_path=img_dir))):
        steps = [dict(type='LoadImageFromFile')]
        if part == 'labeled':
            steps.append(dict(type='LoadAnnotations'))
        parts.append((part,
                      DATASETS.build(
                          dict(
                              type=dataset,
                              data_root=data_root,
                              ann_file=osp.join(split_dir, f'{part}.txt'),
                              data_prefix=prefix,
                              pipeline=steps,
                              **suffixes))))
    check_dataset_files(parts, decode)


def main(argv=None) -> int:
    args = parse_args(argv)
    register_all_modules()  # MMSeg's datasets and transforms
    dataset = getattr(args, 'dataset', 'CityscapesDataset')
    cityscapes = dataset == 'CityscapesDataset'
    suffixes = dataset_suffixes(dataset)
    for key, option in (('img_suffix', 'img_suffix'), ('seg_map_suffix',
                                                       'seg_suffix')):
        suffixes[key] = getattr(args, option, None) or suffixes.get(key)
        if suffixes[key] is None and hasattr(args, option):
            sys.exit(f'--dataset {dataset} does not say its {key}; give '
                     f"--{option.replace('_', '-')}.")
    img_dir = osp.join(args.data_root, args.img_dir)
    out_dir = osp.join(args.data_root, 'splits', args.name)
    num_labeled = args.num_labeled
    if cityscapes and args.command != 'draw':
        num_labeled = num_labeled or CITYSCAPES_SPLITS.get(args.name)
    if args.command == 'convert':
        labeled = read_split_list(args.labeled)
        unlabeled = read_split_list(args.unlabeled)
    elif args.command == 'draw':
        names = list_images(img_dir, suffixes['img_suffix'])
        if num_labeled is None:
            if args.fraction is None or not 0 < args.fraction < 1:
                sys.exit('draw needs --num-labeled N or --fraction in (0, 1)'
                         f', got --fraction {args.fraction}.')
            num_labeled = max(1, round(len(names) * args.fraction))
        labeled, unlabeled = draw_split(names, num_labeled, args.seed)
    else:
        read = read_split_list if cityscapes else read_ann_file
        labeled = read(osp.join(out_dir, 'labeled.txt'))
        unlabeled = read(osp.join(out_dir, 'unlabeled.txt'))
    try:
        check_split(
            labeled,
            unlabeled,
            img_dir,
            num_labeled=num_labeled,
            suffix=suffixes['img_suffix'])
        if args.command == 'check':
            check_split_files(args.data_root, out_dir, dataset, args.img_dir,
                              args.seg_dir, suffixes, not args.no_decode)
    except ValueError as e:
        sys.exit(f'Split {args.name}: {e}')
    if args.command != 'check':
        write_ann_file(labeled, osp.join(out_dir, 'labeled.txt'))
        write_ann_file(unlabeled, osp.join(out_dir, 'unlabeled.txt'))
    print(f'Split {args.name}: {len(labeled)} labeled, {len(unlabeled)} '
          f'unlabeled images, checked against {img_dir}; files in {out_dir}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
