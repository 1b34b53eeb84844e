# Copyright (c) mmseg_sb contributors. All rights reserved.
"""Shared fixtures: generated Cityscapes-layout data and a tiny DeepLabV3+."""
import copy
import glob
import os
import os.path as osp

import cv2
import numpy as np
import pytest
from mmengine.config import ConfigDict
from mmengine.registry import init_default_scope

import mmseg_sb  # noqa: F401  (registers components)
from mmseg_sb.testing import make_synthetic_cityscapes
from mmseg_sb.utils import mark_round_complete

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEMO_SB_CONFIG = osp.join(REPO,
                          'configs/demo/sb_deeplabv3plus_r18_synthetic.py')
#: Every leaf config (configs/*.py and configs/demo/*.py).
LEAF_CONFIGS = sorted(
    glob.glob(osp.join(REPO, 'configs', '*.py')) +
    glob.glob(osp.join(REPO, 'configs', 'demo', '*.py')))
#: --cfg-options that shrink the Cityscapes configs' model for a CPU.
SHRINK = {
    'model.pretrained': None,
    'model.backbone.depth': 18,
    'model.decode_head.in_channels': 512,
    'model.decode_head.c1_in_channels': 64,
    'model.decode_head.channels': 16,
    'model.decode_head.c1_channels': 8,
}
IMG_SIZE = (32, 64)
#: Config key of the student rounds' loader.
STUDENT = 'train_cfg.student_dataloader'
CROP = (32, 32)

#: DeepLabV3+ (ASPP head + FCN auxiliary head) on a ResNet-18, shrunk.
TINY_DEEPLABV3PLUS = dict(
    type='SemiSupervisedEncoderDecoder',
    data_preprocessor=dict(
        type='SegDataPreProcessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_val=0,
        seg_pad_val=255,
        size=CROP),
    backbone=dict(
        type='ResNetV1c',
        depth=18,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        dilations=(1, 1, 2, 4),
        strides=(1, 2, 1, 1),
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        style='pytorch',
        contract_dilation=True),
    decode_head=dict(
        type='DepthwiseSeparableASPPHead',
        in_channels=512,
        in_index=3,
        channels=16,
        dilations=(1, 12, 24, 36),
        c1_in_channels=64,
        c1_channels=8,
        dropout_ratio=0.1,
        num_classes=19,
        norm_cfg=dict(type='BN', requires_grad=True),
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    auxiliary_head=dict(
        type='FCNHead',
        in_channels=256,
        in_index=2,
        channels=16,
        num_convs=1,
        concat_input=False,
        dropout_ratio=0.1,
        num_classes=19,
        norm_cfg=dict(type='BN', requires_grad=True),
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))


@pytest.fixture(scope='session')
def photo():
    """A real photograph (matplotlib's sample image, BGR uint8)."""
    from matplotlib import cbook
    with cbook.get_sample_data('grace_hopper.jpg') as f:
        buf = np.frombuffer(f.read(), np.uint8)
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)


@pytest.fixture(autouse=True)
def _mmseg_scope():
    init_default_scope('mmseg')


@pytest.fixture
def tiny_model_cfg():
    return ConfigDict(copy.deepcopy(TINY_DEEPLABV3PLUS))


@pytest.fixture(scope='session')
def cityscapes_root(tmp_path_factory):
    """Generated data in Cityscapes' layout with 6 labeled, 10 unlabeled
    train images (ann files under splits/tiny/) and 4 val images."""
    root = str(tmp_path_factory.mktemp('cityscapes'))
    names = make_synthetic_cityscapes(
        root, dict(train=16, val=4), img_size=IMG_SIZE, seed=0)
    split_dir = osp.join(root, 'splits', 'tiny')
    os.makedirs(split_dir)
    for part, items in (('labeled', names['train'][:6]), ('unlabeled',
                                                          names['train'][6:])):
        with open(osp.join(split_dir, f'{part}.txt'), 'w') as f:
            f.write('\n'.join(items) + '\n')
    return root


@pytest.fixture
def semi_dataset_cfg(cityscapes_root):
    """Config of a SemiSupervisedDataset over the tiny split (6 + 10 images):
    parts [labeled weak, pseudo weak, labeled strong, pseudo strong]; a
    function of the views' pipelines, whose last step (PackSegInputs) is
    made the view's own in a MultiView."""

    def make(pipeline=None, strong_pipeline=None, unlabeled_gt=True):
        pipeline = pipeline or [
            dict(type='LoadImageFromFile'),
            dict(type='LoadAnnotations'),
            dict(type='PackSegInputs')
        ]

        def view(name, steps):  # the packing step becomes the view's
            return [
                *steps[:-1],
                dict(type='MultiView', views={name: steps[-1:]})
            ]

        return dict(
            type='SemiSupervisedDataset',
            labeled=cityscapes_part(cityscapes_root, 'labeled',
                                    'gtFine/train'),
            unlabeled=dict(
                type='PseudoLabeledDataset',
                dataset=cityscapes_part(
                    cityscapes_root, 'unlabeled',
                    'gtFine/train' if unlabeled_gt else None)),
            views=[
                view('weak', pipeline),
                view('strong', strong_pipeline or pipeline)
            ])

    return make


def cityscapes_part(root, name, seg_map_path):
    """A CityscapesDataset config of the tiny split's ``name`` part."""
    prefix = dict(img_path='leftImg8bit/train')
    if seg_map_path is not None:
        prefix['seg_map_path'] = seg_map_path
    return dict(
        type='CityscapesDataset',
        data_root=root,
        ann_file=f'splits/tiny/{name}.txt',
        data_prefix=prefix)


@pytest.fixture
def write_pseudo_labels():
    """Write a constant pseudo label for every image of an unlabeled MMSeg
    dataset under ``out_dir``, in the dataset's own layout, and mark the
    round complete."""

    def write(unlabeled, out_dir, value):
        unlabeled.full_init()
        img_dir = unlabeled.data_prefix['img_path']
        for i in range(len(unlabeled)):
            rel = osp.relpath(unlabeled.get_data_info(i)['img_path'], img_dir)
            path = osp.join(
                out_dir,
                rel[:-len(unlabeled.img_suffix)] + unlabeled.seg_map_suffix)
            os.makedirs(osp.dirname(path), exist_ok=True)
            cv2.imwrite(path, np.full(IMG_SIZE, value, np.uint8))
        mark_round_complete(out_dir, dict(num_images=len(unlabeled)))

    return write


@pytest.fixture
def semi_runner_cfg(cityscapes_root, tmp_path):
    """The demo config (the real Cityscapes self-training config, shrunk)
    on the tiny split, with the given rounds; a function of the rounds."""
    from mmengine.config import Config

    def make(
            round_iters=(4, 3, 3),
            work_dir=None,
            config=DEMO_SB_CONFIG,
            **overrides):
        cfg = Config.fromfile(config)
        work_dir = work_dir or str(tmp_path / 'work_dir')
        cfg.merge_from_dict({
            'work_dir': work_dir,
            # MMEngine keeps one visualizer per name in a process: a runner
            # of another test would otherwise write into its own work dir.
            'visualizer.name': f'visualizer_{work_dir}',
            'model.decode_head.channels': 16,
            'train_dataloader.batch_size': 4,
            'train_dataloader.dataset.data_root': cityscapes_root,
            'train_dataloader.dataset.ann_file': 'splits/tiny/labeled.txt',
            f'{STUDENT}.batch_size': 4,
            f'{STUDENT}.sampler.batch_size': 4,
            f'{STUDENT}.dataset.unlabeled.dataset.data_root': cityscapes_root,
            f'{STUDENT}.dataset.unlabeled.dataset.ann_file':
            'splits/tiny/unlabeled.txt',
            'val_dataloader.dataset.data_root': cityscapes_root,
            'val_dataloader.num_workers': 0,
            'val_dataloader.persistent_workers': False,
            'test_dataloader.dataset.data_root': cityscapes_root,
            'test_dataloader.num_workers': 0,
            'test_dataloader.persistent_workers': False,
            'default_hooks.checkpoint.max_keep_ckpts': -1,
            'default_hooks.logger.interval': 1,
            'log_level': 'WARNING',
        })
        if round_iters is not None:  # None: the config's rounds
            students = round_iters[1]
            cfg.merge_from_dict({
                'default_hooks.pseudo_label.round_iters':
                list(round_iters),
                'train_cfg.val_interval':
                students,
                'default_hooks.checkpoint.interval':
                students,
            })
        cfg.merge_from_dict(overrides)
        return cfg

    return make
