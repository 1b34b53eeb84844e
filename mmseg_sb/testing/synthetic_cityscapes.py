# Copyright (c) mmseg_sb contributors. All rights reserved.
"""Generated street-like scenes written in Cityscapes' own layout.

Used by the tests, the demo and the benchmarks, so that MMSeg's real
:class:`CityscapesDataset` reads them exactly as it reads Cityscapes::

    leftImg8bit/{split}/{city}/{city}_{seq:06d}_000019_leftImg8bit.png
    gtFine/{split}/{city}/{city}_{seq:06d}_000019_gtFine_labelTrainIds.png

Each image has sky, building and road bands (in their Cityscapes palette
colours) and a few objects of 8 other classes (11 of Cityscapes' 19 train ids
appear). An object's class is told by its shape and texture (stripes,
checker, grid or dots at a class-specific angle), not by its colour, which is
random per instance. Every image is taken in a condition: its illumination,
colour cast, contrast, haze, sensor noise, object sizes and clutter. As in
real street scenes, conditions differ between cities: in ``aachen`` every
image is taken in clear conditions (a narrow range), in every other city in
any condition (a wide range that contains the clear one). A model trained on
a few clear images has seen little of the variation that more images cover.
"""
import os
import os.path as osp
from typing import Dict, List, Sequence, Tuple

import cv2
import numpy as np
from mmengine.config import Config

from mmseg.datasets import CityscapesDataset
from ..utils import iter_dicts

NUM_CLASSES = 19
IMG_SUFFIX = '_leftImg8bit.png'
SEG_SUFFIX = '_gtFine_labelTrainIds.png'
#: Train ids of the background bands, top to bottom.
SKY, BUILDING, ROAD = 10, 2, 0
#: Train ids of the objects (pole, traffic sign, vegetation, person, car);
#: the other 11 train ids never appear.
OBJECT_CLASSES = (5, 7, 8, 11, 13)
#: Cities of each split (Cityscapes' naming: ``{city}_{seq}_{frame}``).
CITIES = {
    'train': ('aachen', 'bochum'),
    'val': ('frankfurt', ),
    'train_extra': ('augsburg', ),
}
#: The one city whose images are all taken in clear conditions.
CLEAR_CITY = 'aachen'

FRAME = 19
#: Texture of each class: (pattern, angle in degrees). Objects get a random
#: colour per instance, so an object's class is told by its texture and
#: shape, not its colour (as for real objects); the bands keep their palette
#: colour and place.
TEXTURES = {
    ROAD: ('flat', 0),
    SKY: ('flat', 0),
    BUILDING: ('grid', 0),
    5: ('stripes', 0),
    7: ('stripes', 45),
    8: ('dots', 0),
    11: ('stripes', 90),
    13: ('checker', 0),
}
#: Shape of each object class: (kind, height range, width range), sizes as
#: fractions of the image height.
SHAPES = {
    5: ('rectangle', (0.45, 0.7), (0.08, 0.14)),
    7: ('diamond', (0.25, 0.4), (0.25, 0.4)),
    8: ('ellipse', (0.3, 0.5), (0.5, 0.9)),
    11: ('ellipse', (0.4, 0.6), (0.15, 0.25)),
    13: ('rectangle', (0.2, 0.35), (0.5, 0.8)),
}
TEXTURE_PERIOD = 8.0
TEXTURE_AMPLITUDE = 45.0
OBJECT_COLOUR_RANGE = (40, 216)
#: The conditions: (low, high) of each property of an image. ``clear`` lies
#: inside ``any``.
CONDITIONS = {
    'clear':
    dict(
        illumination=(0.85, 1.15),
        cast=(0.93, 1.07),
        contrast=(0.85, 1.1),
        haze=(0.0, 0.1),
        noise=(2.0, 5.0),
        scale=(0.8, 1.2),
        num_objects=(3, 6)),
    'any':
    dict(
        illumination=(0.6, 1.3),
        cast=(0.85, 1.15),
        contrast=(0.65, 1.1),
        haze=(0.0, 0.25),
        noise=(2.0, 8.0),
        scale=(0.6, 1.2),
        num_objects=(3, 9)),
}


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


def _draw_object(rng: np.random.Generator, label: np.ndarray, rgb: np.ndarray,
                 cls: int, scale: float) -> None:
    """Draw one object of class ``cls`` (its shape, a random colour)."""
    h, w = label.shape
    kind, height, width = SHAPES[cls]
    oh = max(int(h * scale * rng.uniform(*height)), 4)
    ow = max(int(h * scale * rng.uniform(*width)), 4)
    oh, ow = min(oh, h - 1), min(ow, w - 1)
    y0 = int(rng.integers(0, h - oh))
    x0 = int(rng.integers(0, w - ow))
    colour = rng.integers(*OBJECT_COLOUR_RANGE, size=3).tolist()
    mask = np.zeros((h, w), np.uint8)
    if kind == 'rectangle':
        mask[y0:y0 + oh, x0:x0 + ow] = 1
    elif kind == 'ellipse':
        cv2.ellipse(mask, (x0 + ow // 2, y0 + oh // 2), (ow // 2, oh // 2), 0,
                    0, 360, 1, -1)
    else:  # diamond
        corners = np.array([[x0 + ow // 2, y0], [x0 + ow, y0 + oh // 2],
                            [x0 + ow // 2, y0 + oh], [x0, y0 + oh // 2]])
        cv2.fillConvexPoly(mask, corners.astype(np.int32), 1)
    mask = mask.astype(bool)
    label[mask] = cls
    rgb[mask] = colour


def draw_scene(rng: np.random.Generator,
               size: Tuple[int, int],
               condition: str = 'any') -> Tuple[np.ndarray, np.ndarray]:
    """One (BGR uint8 image, uint8 train-id label) pair taken in
    ``condition`` (a key of :data:`CONDITIONS`)."""
    ranges = CONDITIONS[condition]
    cond = {
        k: rng.uniform(*ranges[k])
        for k in ('illumination', 'contrast', 'haze', 'noise', 'scale')
    }
    h, w = size
    palette = np.array(CityscapesDataset.METAINFO['palette'], np.float32)
    label = np.full((h, w), ROAD, dtype=np.uint8)
    sky_end = int(h * rng.uniform(0.15, 0.35))
    building_end = int(h * rng.uniform(0.45, 0.6))
    label[:sky_end] = SKY
    label[sky_end:building_end] = BUILDING
    rgb = palette[label]
    for _ in range(rng.integers(*ranges['num_objects'], endpoint=True)):
        _draw_object(rng, label, rgb, int(rng.choice(OBJECT_CLASSES)),
                     cond['scale'])
    texture = np.zeros((h, w), np.float32)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    for cls in np.unique(label):
        mask = label == cls
        texture[mask] = _pattern(*TEXTURES[int(cls)], yy, xx)[mask]
    rgb += TEXTURE_AMPLITUDE * texture[..., None]
    # Contrast around the image mean, haze (towards grey), illumination with
    # a colour cast, sensor noise.
    mean = rgb.mean(axis=(0, 1), keepdims=True)
    rgb = mean + cond['contrast'] * (rgb - mean)
    rgb += cond['haze'] * (200.0 - rgb)
    gain = cond['illumination'] * rng.uniform(*ranges['cast'], size=3)
    rgb *= gain.astype(np.float32)
    rgb += rng.normal(0, cond['noise'], size=rgb.shape).astype(np.float32)
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
            img, label = draw_scene(rng, img_size,
                                    'clear' if city == CLEAR_CITY else 'any')
            for folder, suffix, array in (('leftImg8bit', IMG_SUFFIX, img),
                                          ('gtFine', SEG_SUFFIX, label)):
                out_dir = osp.join(data_root, folder, split, city)
                os.makedirs(out_dir, exist_ok=True)
                cv2.imwrite(osp.join(out_dir, stem + suffix), array)
            names[split].append(f'{city}/{stem}')
    return names


def set_data_root(cfg: Config, data_root: str) -> None:
    """Point every dataset of ``cfg`` at ``data_root``: those of the train,
    val and test loaders and of ``train_cfg`` (a self-training run's
    ``student_dataloader``), wrapped ones included."""
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader',
                'train_cfg'):
        for node in iter_dicts(cfg.get(key)):
            if 'data_root' in node:
                node['data_root'] = data_root
