# Copyright (c) mmseg_sb contributors. All rights reserved.
import json
import os
import os.path as osp

import cv2
import numpy as np
import torch
from mmengine.config import Config

from mmseg.datasets import CityscapesDataset
from mmseg.registry import MODELS
from mmseg_sb.engine.rounds import Rounds
from mmseg_sb.testing import colorize, write_curves, write_summary

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SUP_CONFIG = osp.join(REPO, 'configs/demo/sup_deeplabv3plus_r18_synthetic.py')
#: Cityscapes' colour of road (train id 0), the same in RGB and BGR.
ROAD = CityscapesDataset.METAINFO['palette'][0]


def test_colorize_uses_the_cityscapes_palette():
    palette = CityscapesDataset.METAINFO['palette']
    label = np.array([[0, 13], [18, 255]], np.uint8)
    assert colorize(label).tolist() == [[palette[0], palette[13]],
                                        [palette[18], [0, 0, 0]]]


def test_summary_shows_predictions_and_the_pseudo_labels(
        cityscapes_root, tmp_path):
    # A model with random weights is enough: the figure, not the model.
    cfg = Config.fromfile(SUP_CONFIG)
    model = MODELS.build(cfg.model)
    checkpoint = str(tmp_path / 'model.pth')
    torch.save(
        dict(
            state_dict=model.state_dict(),
            meta=dict(dataset_meta=CityscapesDataset.METAINFO)), checkpoint)
    # Pseudo labels of road only, for the two images the figure shows.
    label_dir = str(tmp_path / 'round_1')
    with open(osp.join(cityscapes_root, 'splits/tiny/unlabeled.txt')) as f:
        names = f.read().split()[-2:]
    for name in names:
        path = osp.join(label_dir, name + '_gtFine_labelTrainIds.png')
        os.makedirs(osp.dirname(path), exist_ok=True)
        cv2.imwrite(path, np.zeros((32, 64), np.uint8))
    out = write_summary(
        str(tmp_path / 'summary.png'), cityscapes_root, 'tiny',
        dict(
            supervised=(SUP_CONFIG, checkpoint),
            student=(SUP_CONFIG, checkpoint)), label_dir)
    image = cv2.imread(out)
    # 5 columns of 2.4 inches, 3 val + 2 unlabeled rows of 1.5, at 110 dpi.
    assert image.shape == (825, 1320, 3)
    road = (image == ROAD).all(axis=2)
    # The pseudo-label column: blank for val images, road where the two
    # unlabeled images' labels are.
    last = road[:, 4 * 1320 // 5:]
    assert not last[:3 * 825 // 5].any()
    assert last[3 * 825 // 5:].sum() > 2 * 0.5 * 110 * 110


def test_curves_are_the_logged_validations(tmp_path):
    work_dirs = []
    for name, mious in (('sup', {
            100: 30.0,
            200: 40.0
    }), ('sb', {
            100: 42.0,
            300: 50.0
    })):
        vis = tmp_path / name / '20240101_120000' / 'vis_data'
        os.makedirs(vis)
        (vis / 'scalars.json').write_text(''.join(
            json.dumps(dict(mIoU=m, step=s)) + '\n' for s, m in mious.items()))
        work_dirs.append(str(tmp_path / name))
    out = write_curves(
        str(tmp_path / 'curves.png'), [('supervised', work_dirs[0], 0),
                                       ('self-training', work_dirs[1], 200)],
        Rounds([0, 100, 200]), 200)
    assert cv2.imread(out).shape == (385, 770, 3)  # 7 x 3.5 in, 110 dpi
