# Copyright (c) mmseg_sb contributors. All rights reserved.
"""Generated street-like scenes written in Cityscapes' own layout.

Used by the tests, the demo and the benchmarks, so that MMSeg's real
:class:`CityscapesDataset` reads them exactly as it reads Cityscapes::

    leftImg8bit/{split}/{city}/{city}_{seq:06d}_000019_leftImg8bit.png
    gtFine/{split}/{city}/{city}_{seq:06d}_000019_gtFine_labelTrainIds.png

Each image has sky, building and road bands (in their Cityscapes palette
colours) and a few objects of 8 other classes (11 of Cityscapes' 19 train ids
appear). An object's class is told by its texture (stripes, checker, grid or
dots at a class-specific angle), not by its colour, which is random per
instance; every image has its own illumination (a gain per channel) and
sensor noise. A model that saw a few images has seen few colours and
illuminations per class: more images cover that variation.
"""
import os
import os.path as osp
from typing import Dict, List, Sequence, Tuple

import cv2
import numpy as np

from mmseg.datasets import CityscapesDataset

NUM_CLASSES = 19
IMG_SUFFIX = '_leftImg8bit.png'
SEG_SUFFIX = '_gtFine_labelTrainIds.png'
#: Train ids of the background bands, top to bottom.
SKY, BUILDING, ROAD = 10, 2, 0
#: Train ids of the objects (sidewalk, pole, traffic sign, vegetation,
#: person, car, truck, bicycle); the other 8 train ids never appear.
OBJECT_CLASSES = (1, 5, 7, 8, 11, 13, 14, 18)
#: Cities of each split (Cityscapes' naming: ``{city}_{seq}_{frame}``).
CITIES = {
    'train': ('aachen', 'bochum'),
    'val': ('frankfurt', ),
    'train_extra': ('augsburg', ),
}
FRAME = 19
#: Texture of each class: (pattern, angle in degrees). Objects get a random
#: colour per instance, so an object's class is told by its texture and
#: shape, not its colour (as for real objects); the bands keep their palette
#: colour and place.
TEXTURES = {
    ROAD: ('flat', 0),
    SKY: ('flat', 0),
    BUILDING: ('grid', 0),
    1: ('stripes', 0),
    5: ('stripes', 90),
    7: ('stripes', 45),
    8: ('stripes', 135),
    11: ('checker', 0),
    13: ('checker', 45),
    14: ('grid', 45),
    18: ('dots', 0),
}
TEXTURE_PERIOD = 10.0
TEXTURE_AMPLITUDE = 40.0
OBJECT_COLOUR_RANGE = (30, 226)
ILLUMINATION_RANGE = (0.6, 1.4)
NOISE_STD = 6.0


def _pattern(name: str, angle: float, yy: np.ndarray,
             xx: np.ndarray) -> np.ndarray:
    """A texture in [-1, 1] over the pixel coordinates ``yy``, ``xx``."""
    theta = np.deg2rad(angle)
    u = 2 * np.pi * (xx * np.cos(theta) + yy * np.sin(theta)) / TEXTURE_PERIOD
    v = 2 * np.pi * (yy * np.cos(theta) - xx * np.sin(theta)) / TEXTURE_PERIOD
    if name == 'stripes':
        return np.sin(u)
    if name == 'checker':
        return np.sign(np.sin(u) * np.sin(v))
    if name == 'grid':
        return np.where((np.cos(u) > 0.7) | (np.cos(v) > 0.7), 1.0, -1.0)
    if name == 'dots':
        return np.where(np.cos(u) + np.cos(v) > 1.2, 1.0, -1.0)
    return np.zeros(yy.shape, np.float32)


def draw_scene(rng: np.random.Generator,
               size: Tuple[int, int]) -> Tuple[np.ndarray, np.ndarray]:
    """One (BGR uint8 image, uint8 train-id label) pair."""
    h, w = size
    palette = np.array(CityscapesDataset.METAINFO['palette'], np.float32)
    label = np.full((h, w), ROAD, dtype=np.uint8)
    sky_end = int(h * rng.uniform(0.15, 0.35))
    building_end = int(h * rng.uniform(0.45, 0.6))
    label[:sky_end] = SKY
    label[sky_end:building_end] = BUILDING
    rgb = palette[label]
    for _ in range(rng.integers(4, 9)):
        cls = int(rng.choice(OBJECT_CLASSES))
        colour = rng.integers(*OBJECT_COLOUR_RANGE, size=3).tolist()
        oh = int(rng.integers(h // 8, h // 3))
        ow = int(rng.integers(w // 12, w // 4))
        y0 = int(rng.integers(0, h - oh))
        x0 = int(rng.integers(0, w - ow))
        if rng.random() < 0.5:
            label[y0:y0 + oh, x0:x0 + ow] = cls
            rgb[y0:y0 + oh, x0:x0 + ow] = colour
        else:
            centre, axes = (x0 + ow // 2, y0 + oh // 2), (ow // 2, oh // 2)
            cv2.ellipse(label, centre, axes, 0, 0, 360, cls, -1)
            cv2.ellipse(rgb, centre, axes, 0, 0, 360, colour, -1)
    texture = np.zeros((h, w), np.float32)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    for cls in np.unique(label):
        mask = label == cls
        texture[mask] = _pattern(*TEXTURES[int(cls)], yy, xx)[mask]
    rgb += TEXTURE_AMPLITUDE * texture[..., None]
    rgb *= rng.uniform(*ILLUMINATION_RANGE, size=3).astype(np.float32)
    rgb += rng.normal(0, NOISE_STD, size=rgb.shape).astype(np.float32)
    img = np.clip(rgb, 0, 255).astype(np.uint8)[..., ::-1]
    return np.ascontiguousarray(img), label


def make_synthetic_cityscapes(data_root: str,
                              num_images: Dict[str, int] = None,
                              img_size: Tuple[int, int] = (64, 128),
                              seed: int = 0) -> Dict[str, List[str]]:
    """Write a small seeded dataset in Cityscapes' layout.

    Args:
        data_root (str): Folder to write into (created if needed).
        num_images (dict[str, int], optional): Images per split, e.g.
            ``dict(train=16, val=4, train_extra=0)``. Defaults to
            ``dict(train=16, val=4)``.
        img_size (tuple[int, int]): (height, width). Defaults to (64, 128).
        seed (int): Random seed; the same seed writes the same files.
            Defaults to 0.

    Returns:
        dict[str, list[str]]: Per split, the sample names ``city/stem`` in
        MMSeg's ``ann_file`` format (no suffix), in writing order.
    """
    num_images = dict(train=16, val=4) if num_images is None else num_images
    unknown = set(num_images) - set(CITIES)
    if unknown:
        raise ValueError(f'Unknown split(s) {sorted(unknown)}; choose from '
                         f'{sorted(CITIES)}.')
    if min(img_size) < 16:
        raise ValueError(f'img_size={img_size} is too small; use at least '
                         '16 pixels per side.')
    names: Dict[str, List[str]] = {}
    # One generator per split, so adding a split keeps the others unchanged.
    for split, count in num_images.items():
        rng = np.random.default_rng([seed, list(CITIES).index(split)])
        cities: Sequence[str] = CITIES[split]
        names[split] = []
        for i in range(count):
            city = cities[i % len(cities)]
            stem = f'{city}_{i:06d}_{FRAME:06d}'
            img, label = draw_scene(rng, img_size)
            for folder, suffix, array in (('leftImg8bit', IMG_SUFFIX, img),
                                          ('gtFine', SEG_SUFFIX, label)):
                out_dir = osp.join(data_root, folder, split, city)
                os.makedirs(out_dir, exist_ok=True)
                cv2.imwrite(osp.join(out_dir, stem + suffix), array)
            names[split].append(f'{city}/{stem}')
    return names
