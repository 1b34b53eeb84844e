# Copyright (c) mmseg_sb contributors. All rights reserved.
import os.path as osp

import cv2
import numpy as np
import pytest

from mmseg.datasets import CityscapesDataset
from mmseg_sb.testing import make_synthetic_cityscapes


def test_layout_read_by_mmseg_cityscapes(tmp_path):
    names = make_synthetic_cityscapes(
        str(tmp_path), dict(train=4, val=2, train_extra=1), (32, 64), seed=1)
    assert names['train'][0] == 'aachen/aachen_000000_000019'
    dataset = CityscapesDataset(
        data_root=str(tmp_path),
        data_prefix=dict(
            img_path='leftImg8bit/val', seg_map_path='gtFine/val'),
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadAnnotations')
        ])
    assert len(dataset) == 2
    sample = dataset[0]
    assert sample['img'].shape == (32, 64, 3)
    seg = sample['gt_seg_map']
    assert seg.dtype == np.uint8 and seg.max() < 19
    assert {0, 2, 10} <= set(np.unique(seg).tolist())  # road/building/sky
    assert osp.isfile(
        osp.join(tmp_path, 'leftImg8bit/train_extra/augsburg',
                 'augsburg_000000_000019_leftImg8bit.png'))


def test_seeded(tmp_path):
    a = make_synthetic_cityscapes(str(tmp_path / 'a'), dict(train=2), seed=5)
    make_synthetic_cityscapes(str(tmp_path / 'b'), dict(train=2), seed=5)
    make_synthetic_cityscapes(str(tmp_path / 'c'), dict(train=2), seed=6)
    rel = f'leftImg8bit/train/{a["train"][1]}_leftImg8bit.png'
    img = [cv2.imread(str(tmp_path / d / rel)) for d in 'abc']
    assert np.array_equal(img[0], img[1])
    assert not np.array_equal(img[0], img[2])


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match='test'):
        make_synthetic_cityscapes(str(tmp_path), dict(test=2))
    with pytest.raises(ValueError, match='img_size'):
        make_synthetic_cityscapes(str(tmp_path), img_size=(8, 8))
