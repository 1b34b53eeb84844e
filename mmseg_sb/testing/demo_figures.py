# Copyright (c) mmseg_sb contributors. All rights reserved.
"""The figures of ``tools/demo.py``: predictions and pseudo labels side by
side (``summary.png``), validation mIoU against iteration (``curves.png``).

matplotlib, OpenCV and MMSeg's inference API are imported on use, so that
importing :mod:`mmseg_sb.testing` stays light.
"""
import contextlib
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..utils import val_mious

#: What MMSeg's Cityscapes data append to an image's and a label's name.
IMG_SUFFIX = '_leftImg8bit.png'
SEG_SUFFIX = '_gtFine_labelTrainIds.png'
#: Resolution of the written figures.
DPI = 110


def colorize(label: np.ndarray) -> np.ndarray:
    """A label map in Cityscapes' palette (ignored and unknown ids black).

    Args:
        label (np.ndarray): Train ids, shape (H, W), dtype uint8.

    Returns:
        np.ndarray: RGB image, shape (H, W, 3), dtype uint8.
    """
    from mmseg.datasets import CityscapesDataset
    palette = np.zeros((256, 3), np.uint8)
    palette[:len(CityscapesDataset.METAINFO['palette'])] = \
        CityscapesDataset.METAINFO['palette']
    return palette[label]


def _pyplot():
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    return plt


def _items(data_root: str, split: str, label_dir: str, num_val: int,
           num_unlabeled: int) -> List[Tuple[str, str, Optional[str]]]:
    """(data split, image name, pseudo-label path or None) per row: the
    first val images of the first val city, the last unlabeled images of
    ``splits/<split>/unlabeled.txt``."""
    with open(osp.join(data_root, 'splits', split, 'unlabeled.txt')) as f:
        unlabeled = [line.strip() for line in f if line.strip()]
    val_dir = osp.join(data_root, 'leftImg8bit', 'val')
    city = sorted(os.listdir(val_dir))[0]
    val = sorted(os.listdir(osp.join(val_dir, city)))[:num_val]
    items = [('val', osp.join(city, n[:-len(IMG_SUFFIX)]), None) for n in val]
    items += [('train', name, osp.join(label_dir, name + SEG_SUFFIX))
              for name in unlabeled[len(unlabeled) - num_unlabeled:]]
    return items


def write_summary(out: str,
                  data_root: str,
                  split: str,
                  models: Dict[str, Tuple[str, str]],
                  label_dir: str,
                  num_val: int = 3,
                  num_unlabeled: int = 2) -> str:
    """Write a grid of image | ground truth | each model's prediction |
    pseudo label, one row per image: a few val images, then a few unlabeled
    train images with the pseudo label they were trained on.

    Args:
        out (str): The PNG to write.
        data_root (str): Data in Cityscapes' layout.
        split (str): Folder of the split under ``data_root/splits``.
        models (dict[str, tuple[str, str]]): Column title -> (config,
            checkpoint) of each model to show, in order.
        label_dir (str): A round's pseudo labels (``round_dir(work_dir,
            r)``).
        num_val (int): Val images shown. Defaults to 3.
        num_unlabeled (int): Unlabeled images shown. Defaults to 2.

    Returns:
        str: ``out``.
    """
    import cv2

    from mmseg.apis import inference_model, init_model
    plt = _pyplot()
    built = {}
    for title, (config, checkpoint) in models.items():
        with open(os.devnull, 'w') as null, contextlib.redirect_stdout(null):
            built[title] = init_model(config, checkpoint, device='cpu')
    items = _items(data_root, split, label_dir, num_val, num_unlabeled)
    columns = ('image', 'ground truth', *models, 'pseudo label')
    fig, axes = plt.subplots(
        len(items),
        len(columns),
        figsize=(2.4 * len(columns), 1.5 * len(items)),
        squeeze=False)
    for row, (part, name, pseudo) in enumerate(items):
        img_path = osp.join(data_root, 'leftImg8bit', part, name + IMG_SUFFIX)
        gt = cv2.imread(
            osp.join(data_root, 'gtFine', part, name + SEG_SUFFIX),
            cv2.IMREAD_UNCHANGED)
        panels = [cv2.imread(img_path)[..., ::-1], colorize(gt)]
        for model in built.values():
            pred = inference_model(model, img_path).pred_sem_seg.data[0]
            panels.append(colorize(pred.numpy().astype(np.uint8)))
        if pseudo is not None:
            panels.append(colorize(cv2.imread(pseudo, cv2.IMREAD_UNCHANGED)))
        for col, ax in enumerate(axes[row]):
            ax.axis('off')
            if col < len(panels):
                ax.imshow(panels[col], interpolation='nearest')
            if row == 0:
                ax.set_title(columns[col], fontsize=9)
        axes[row][0].text(
            -4,
            gt.shape[0] / 2,
            'val' if pseudo is None else 'unlabeled',
            rotation=90,
            va='center',
            ha='right',
            fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=DPI)
    plt.close(fig)
    return out


def write_curves(out: str, curves: Sequence[Tuple[str, str, int]], rounds,
                 offset: int) -> str:
    """Write validation mIoU against iteration, one line per run, and a
    dotted line where each round of a self-training run starts.

    Args:
        out (str): The PNG to write.
        curves (Sequence[tuple[str, str, int]]): (legend, work dir,
            iterations before the run's first) per run.
        rounds (Rounds): The rounds of the self-training run (its
            ``PseudoLabelHook.rounds``); empty ones are not drawn.
        offset (int): Iterations before the self-training run's first.

    Returns:
        str: ``out``.
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.5))
    for name, work_dir, shift in curves:
        mious = val_mious(work_dir)
        steps = sorted(mious)
        ax.plot([s + shift for s in steps], [mious[s] for s in steps],
                marker='.',
                label=name)
    for r, (start, iters) in enumerate(zip(rounds.starts, rounds.iters)):
        if iters:
            ax.axvline(offset + start, color='grey', linestyle=':', lw=1)
            ax.text(offset + start, ax.get_ylim()[0], f' round {r}', size=8)
    ax.set_xlabel('iteration')
    ax.set_ylabel('val mIoU')
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=DPI)
    plt.close(fig)
    return out
