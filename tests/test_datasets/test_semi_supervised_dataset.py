# Copyright (c) mmseg_sb contributors. All rights reserved.
import os

import cv2
import numpy as np
import pytest
import torch

from mmseg.registry import DATASETS
from mmseg_sb.datasets import PseudoLabeledDataset
from mmseg_sb.utils import COMPLETE_MARKER, mark_round_complete

#: Parts of the tiny SemiSupervisedDataset: 6 labeled and 10 unlabeled images,
#: in the weak then the strong view.
NUM_LABELED, NUM_UNLABELED = 6, 10


def with_labels(cfg, label_dir):
    """``cfg`` with the round's folder given to its unlabeled part, as
    SelfTrainingLoop builds it."""
    return dict(cfg, unlabeled=dict(cfg['unlabeled'], label_dir=label_dir))


@pytest.fixture
def round_dir(semi_dataset_cfg, write_pseudo_labels, tmp_path):
    """A complete round of pseudo labels of value 7 for the tiny split."""
    unlabeled = DATASETS.build(semi_dataset_cfg()['unlabeled'])
    write_pseudo_labels(unlabeled.dataset, str(tmp_path / 'round_1'), 7)
    return str(tmp_path / 'round_1')


def test_parts_are_views_of_labeled_and_pseudo_labeled_images(
        semi_dataset_cfg, round_dir):
    dataset = DATASETS.build(with_labels(semi_dataset_cfg(), round_dir))
    assert [len(d) for d in dataset.datasets] == [6, 10, 6, 10]
    assert len(dataset) == 32  # a weak and a strong view of each image
    sample = dataset[0]
    weak = sample['data_samples']['weak']
    gt = cv2.imread(weak.seg_map_path, cv2.IMREAD_UNCHANGED)
    assert weak.get('is_pseudo', False) is False
    assert sample['data_samples']['strong'] is None
    np.testing.assert_array_equal(weak.gt_sem_seg.data.numpy()[0], gt)
    pseudo = dataset[NUM_LABELED]['data_samples']['weak']
    assert pseudo.is_pseudo is True
    assert pseudo.seg_map_path.startswith(round_dir)
    assert (pseudo.gt_sem_seg.data == 7).all()


def test_views_run_their_own_pipeline(semi_dataset_cfg, round_dir):
    load = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations')]
    strong = load + [
        dict(type='StrongAugment', num_ops=1, ops=['invert_channel']),
        dict(type='PackSegInputs', meta_keys=('img_path', 'strong_ops'))
    ]
    dataset = DATASETS.build(
        with_labels(
            semi_dataset_cfg(
                pipeline=load + [dict(type='PackSegInputs')],
                strong_pipeline=strong), round_dir))
    for image in (2, 9):  # a labeled and an unlabeled image
        weak = dataset[image]['data_samples']['weak']
        strong_data = dataset[16 + image]
        strong = strong_data['data_samples']['strong']
        assert dataset[image]['data_samples']['strong'] is None
        assert strong_data['data_samples']['weak'] is None
        assert strong.strong_ops == ['invert_channel']
        assert weak.get('is_pseudo', False) == strong.get(
            'is_pseudo', False) == (
                image >= NUM_LABELED)
        assert weak.img_path == strong.img_path
        assert not torch.equal(dataset[image]['inputs']['weak'],
                               strong_data['inputs']['strong'])
        # Labels are untouched by the strong view.
        assert torch.equal(weak.gt_sem_seg.data, strong.gt_sem_seg.data)
    with pytest.raises(IndexError):
        dataset[32]


def test_a_part_with_its_own_pipeline_is_refused_with_views(semi_dataset_cfg):
    cfg = semi_dataset_cfg()
    cfg['labeled']['pipeline'] = [dict(type='LoadImageFromFile')]
    with pytest.raises(ValueError, match='labeled has a pipeline of its own'):
        DATASETS.build(cfg)


def test_without_views_each_part_keeps_its_pipeline(semi_dataset_cfg):
    """The online methods' form: [labeled, unlabeled], own pipelines."""
    parts = semi_dataset_cfg(unlabeled_gt=False)
    load = [dict(type='LoadImageFromFile')]
    dataset = DATASETS.build(
        dict(
            type='SemiSupervisedDataset',
            labeled=dict(
                parts['labeled'],
                pipeline=load +
                [dict(type='LoadAnnotations'),
                 dict(type='PackSegInputs')]),
            unlabeled=dict(
                parts['unlabeled']['dataset'],
                pipeline=load + [
                    dict(
                        type='MultiView',
                        views=dict(weak=[dict(type='PackSegInputs')]))
                ])))
    assert [len(d) for d in dataset.datasets] == [6, 10]
    assert dataset[0]['data_samples'].gt_sem_seg is not None
    unlabeled = dataset[6]['data_samples']
    assert unlabeled['weak'] is not None and unlabeled['sup'] is None
    assert 'gt_sem_seg' not in unlabeled['weak']


def test_unlabeled_unreadable_without_pseudo_labels(semi_dataset_cfg):
    dataset = DATASETS.build(semi_dataset_cfg())
    dataset[0]  # labeled images read their ground truth
    for index in (NUM_LABELED, 16 + NUM_LABELED):
        with pytest.raises(RuntimeError, match='no label_dir'):
            dataset[index]


def test_incomplete_round_is_refused(semi_dataset_cfg, write_pseudo_labels,
                                     tmp_path):
    cfg = semi_dataset_cfg()
    unlabeled = DATASETS.build(cfg['unlabeled']).dataset
    # Every label file of r2 exists, but its marker does not: a pass that
    # was interrupted before it finished (or labels copied in by hand).
    r2 = str(tmp_path / 'r2')
    write_pseudo_labels(unlabeled, r2, 4)
    os.remove(os.path.join(r2, COMPLETE_MARKER))
    with pytest.raises(FileNotFoundError, match=COMPLETE_MARKER):
        DATASETS.build(with_labels(cfg, r2))
    mark_round_complete(r2, {})
    dataset = DATASETS.build(with_labels(cfg, r2))
    assert (dataset[8]['data_samples']['weak'].gt_sem_seg.data == 4).all()


def test_empty_unlabeled_list_is_an_error(semi_dataset_cfg, tmp_path):
    cfg = semi_dataset_cfg()
    empty = tmp_path / 'empty.txt'
    empty.write_text('')
    cfg['unlabeled']['dataset']['ann_file'] = str(empty)
    with pytest.raises(ValueError, match='unlabeled dataset is empty'):
        DATASETS.build(cfg)


def test_ground_truth_of_unlabeled_images(semi_dataset_cfg):
    unlabeled = DATASETS.build(semi_dataset_cfg()['unlabeled'])
    assert isinstance(unlabeled, PseudoLabeledDataset)
    assert unlabeled.gt_dir == os.path.join(unlabeled.dataset.data_root,
                                            'gtFine/train')
    # Without labels, the images are listed without a label path.
    assert 'seg_map_path' not in unlabeled.get_data_info(0)
    assert len(unlabeled) == NUM_UNLABELED
    no_gt = DATASETS.build(semi_dataset_cfg(unlabeled_gt=False)['unlabeled'])
    assert no_gt.gt_dir is None


def test_pseudo_labeled_dataset_needs_a_config():
    with pytest.raises(TypeError, match='config'):
        PseudoLabeledDataset(dataset=[1, 2])
