# Copyright (c) mmseg_sb contributors. All rights reserved.
"""evaluate_subset gives the mIoU that MMSeg's own test loop
(``Runner.test``) gives on the same images."""
import contextlib
import os
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.runner import Runner

from mmseg.datasets import CityscapesDataset
from mmseg.registry import MODELS
from mmseg_sb.testing import evaluate_subset, set_data_root

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SUP_CONFIG = osp.join(REPO, 'configs/demo/sup_deeplabv3plus_r18_synthetic.py')
VAL = [f'frankfurt/frankfurt_{i:06d}_000019' for i in range(4)]


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    """Random weights, leaning to road (train id 0) so that some IoU is
    above 0: what is measured is the evaluation, not the model."""
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(SUP_CONFIG).model)
    with torch.no_grad():
        model.decode_head.conv_seg.bias[0] += 1.0
    path = str(tmp_path_factory.mktemp('model') / 'model.pth')
    torch.save(
        dict(
            state_dict=model.state_dict(),
            meta=dict(dataset_meta=CityscapesDataset.METAINFO)), path)
    return path


def runner_miou(cityscapes_root, checkpoint, ann_file, work_dir):
    cfg = Config.fromfile(SUP_CONFIG)
    set_data_root(cfg, cityscapes_root)
    cfg.test_dataloader.dataset.ann_file = ann_file
    cfg.load_from, cfg.work_dir = checkpoint, work_dir
    cfg.visualizer.name = f'visualizer_{osp.basename(work_dir)}'
    with open(os.devnull, 'w') as null, contextlib.redirect_stdout(null):
        return Runner.from_cfg(cfg).test()['mIoU']


@pytest.mark.parametrize('names', [VAL, VAL[0::2], VAL[1::2]])
def test_subset_miou_is_the_test_loops(cityscapes_root, checkpoint, names,
                                       tmp_path):
    val_dir = osp.join(cityscapes_root, 'leftImg8bit/val/frankfurt')
    assert sorted(os.listdir(val_dir)) == [
        n.split('/')[1] + '_leftImg8bit.png' for n in VAL
    ]
    ann_file = str(tmp_path / 'val.txt')
    # A run's logger (the current one): its log gets nothing of this.
    log_file = str(tmp_path / 'run.log')
    MMLogger.get_instance(f'run_{tmp_path.name}', log_file=log_file)
    miou = evaluate_subset(
        SUP_CONFIG, checkpoint, ann_file, names, cityscapes_root, batch_size=3)
    with open(log_file) as f:  # no checkpoint path, no per-class table
        assert ' - INFO - ' not in f.read()
    with open(ann_file) as f:
        assert f.read().split() == names
    expected = runner_miou(cityscapes_root, checkpoint, ann_file,
                           str(tmp_path / 'runner'))
    assert miou > 0
    assert miou == pytest.approx(expected, abs=1e-6)
