# Copyright (c) mmseg_sb contributors. All rights reserved.
"""Semi-supervised split files: convert, draw and check.

MMSeg's ``ann_file`` format is one ``city/name`` per line, without suffix
(``aachen/aachen_000000_000019``). Community lists name files instead:

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


def write_ann_file(names: Iterable[str], path: str) -> None:
    """Write ``names`` as an MMSeg ann_file (one per line)."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w', encoding='utf-8') as f:
        f.writelines(f'{n}\n' for n in names)


def list_images(img_dir: str, suffix: str = IMG_SUFFIX) -> List[str]:
    """All ``city/name`` under ``img_dir`` (sorted)."""
    if not osp.isdir(img_dir):
        raise FileNotFoundError(
            f'Image folder {img_dir} does not exist; check data_root (it '
            'should hold leftImg8bit/train/CITY/*_leftImg8bit.png).')
    names = []
    for city in sorted(os.listdir(img_dir)):
        city_dir = osp.join(img_dir, city)
        if osp.isdir(city_dir):
            names += [
                f'{city}/{f[:-len(suffix)]}'
                for f in sorted(os.listdir(city_dir)) if f.endswith(suffix)
            ]
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
