# Copyright (c) mmseg_sb contributors. All rights reserved.
"""Semi-supervised split files: convert, draw and check.

MMSeg's ``ann_file`` format is one image per line: its path below the image
folder, without suffix (Cityscapes: ``aachen/aachen_000000_000019``; ADE20K:
``ADE_train_00000001``). Community Cityscapes lists name files instead:

- UniMatch / CPS / AugSeg: ``leftImg8bit/train/CITY/NAME_leftImg8bit.png
  gtFine/train/CITY/NAME_gtFine_labelTrainIds.png``
- U2PL: the same pair, or the image path alone, with or without the
  ``leftImg8bit/train`` prefix.

:func:`read_split_list` reads any of these (and MMSeg's own format) by taking
the last two path components of a line's first field.
"""
import os
import os.path as osp
from collections import Counter
from typing import Iterable, List, Optional, Sequence, Tuple

import numpy as np

IMG_SUFFIX = '_leftImg8bit.png'
#: Labeled-image counts of the community Cityscapes splits (2975 images).
CITYSCAPES_SPLITS = {'1-16': 186, '1-8': 372, '1-4': 744, '1-2': 1488}


def parse_split_line(line: str) -> Optional[str]:
    """``city/name`` from one line of a split list (None for a blank line).

    Raises:
        ValueError: If the line has no ``city/file`` path.
    """
    fields = line.split()
    if not fields:
        return None
    parts = fields[0].replace('\\', '/').split('/')
    if len(parts) < 2 or not parts[-2] or not parts[-1]:
        raise ValueError(f'Split line {line.strip()!r} has no CITY/NAME '
                         'path; expected e.g. leftImg8bit/train/aachen/'
                         'aachen_000000_000019_leftImg8bit.png')
    name = parts[-1]
    for suffix in (IMG_SUFFIX, '.png', '.jpg'):
        if name.endswith(suffix):
            name = name[:-len(suffix)]
            break
    return f'{parts[-2]}/{name}'


def read_split_list(path: str) -> List[str]:
    """The ``city/name`` entries of a split list file, in file order."""
    with open(path, encoding='utf-8') as f:
        names = [parse_split_line(line) for line in f]
    return [n for n in names if n is not None]


def read_ann_file(path: str) -> List[str]:
    """The names of an MMSeg ann_file of any dataset (one path below the
    image folder, without suffix, per line), in file order, without blank
    lines (:func:`mmseg_sb.datasets.file_check.check_dataset_files`, which
    reads the file as MMSeg does, names them)."""
    with open(path, encoding='utf-8') as f:
        return [line.strip() for line in f if line.strip()]


def write_ann_file(names: Iterable[str], path: str) -> None:
    """Write ``names`` as an MMSeg ann_file (one per line)."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w', encoding='utf-8') as f:
        f.writelines(f'{n}\n' for n in names)


def list_images(img_dir: str, suffix: str = IMG_SUFFIX) -> List[str]:
    """Every image under ``img_dir`` whose name ends with ``suffix``, as
    MMSeg's ann_file names it: the path below ``img_dir`` without the suffix
    (Cityscapes: ``city/name``; ADE20K: ``name``). Folder by folder, each
    in sorted order, at any depth."""
    if not osp.isdir(img_dir):
        raise FileNotFoundError(
            f'Image folder {img_dir} does not exist; check data_root and '
            '--img-dir (Cityscapes: leftImg8bit/train; ADE20K: '
            'images/training).')
    names = []

    def visit(rel: str) -> None:
        folder = osp.join(img_dir, rel)
        for entry in sorted(os.listdir(folder)):
            name = f'{rel}/{entry}' if rel else entry
            if osp.isdir(osp.join(folder, entry)):
                visit(name)
            elif entry.endswith(suffix):
                names.append(name[:-len(suffix)])

    visit('')
    return names


def draw_split(names: Sequence[str],
               num_labeled: int,
               seed: int = 0) -> Tuple[List[str], List[str]]:
    """Draw ``num_labeled`` labeled names at random; the rest is unlabeled.

    Returns:
        tuple[list[str], list[str]]: (labeled, unlabeled), each in the order
        of ``names``.
    """
    if not 0 < num_labeled < len(names):
        raise ValueError(f'num_labeled={num_labeled} must be in [1, '
                         f'{len(names) - 1}] for {len(names)} images.')
    picked = set(
        np.random.default_rng(seed).choice(
            len(names), num_labeled, replace=False).tolist())
    labeled = [n for i, n in enumerate(names) if i in picked]
    unlabeled = [n for i, n in enumerate(names) if i not in picked]
    return labeled, unlabeled


def check_split(labeled: Sequence[str],
                unlabeled: Sequence[str],
                img_dir: Optional[str] = None,
                unlabeled_img_dir: Optional[str] = None,
                num_labeled: Optional[int] = None,
                suffix: str = IMG_SUFFIX) -> None:
    """Raise ``ValueError`` if a split is not usable.

    Checks: no duplicates, no image both labeled and unlabeled, the expected
    labeled count, and that every image exists under its folder.
    """
    for part, names in (('labeled', labeled), ('unlabeled', unlabeled)):
        if not names:
            raise ValueError(f'The {part} list is empty.')
        dup = sorted(n for n, count in Counter(names).items() if count > 1)
        if dup:
            raise ValueError(f'The {part} list repeats {len(dup)} names, '
                             f'e.g. {dup[:3]}.')
    overlap = sorted(set(labeled) & set(unlabeled))
    if overlap:
        raise ValueError(f'{len(overlap)} images are both labeled and '
                         f'unlabeled, e.g. {overlap[:3]}.')
    if num_labeled is not None and len(labeled) != num_labeled:
        raise ValueError(f'The labeled list has {len(labeled)} images, '
                         f'expected {num_labeled}.')
    folders = ((labeled, img_dir), (unlabeled, unlabeled_img_dir or img_dir))
    for names, folder in folders:
        if folder is None:
            continue
        missing = [
            n for n in names if not osp.isfile(osp.join(folder, n + suffix))
        ]
        if missing:
            raise ValueError(
                f'{len(missing)} listed images do not exist under {folder}, '
                f'e.g. {osp.join(folder, missing[0] + suffix)}; check '
                'data_root.')
