# Copyright (c) mmseg_sb contributors. All rights reserved.
import os

import cv2
import numpy as np
import pytest
import torch

from mmseg.registry import DATASETS
from mmseg_sb.datasets import SemiSegDataset
from mmseg_sb.utils import COMPLETE_MARKER, mark_round_complete


def test_labeled_samples_read_ground_truth(semi_dataset_cfg):
    dataset = DATASETS.build(semi_dataset_cfg())
    assert (dataset.num_labeled, dataset.num_unlabeled) == (6, 10)
    assert dataset.num_images == 16
    assert len(dataset) == 32  # a weak and a strong view of each image
    sample = dataset[0]
    gt = cv2.imread(sample['data_samples'].seg_map_path, cv2.IMREAD_UNCHANGED)
    assert sample['data_samples'].is_pseudo is False
    assert sample['data_samples'].view == 'weak'
    np.testing.assert_array_equal(
        sample['data_samples'].gt_sem_seg.data.numpy()[0], gt)
    assert dataset.unlabeled_gt_dir.endswith('gtFine/train')


def test_views_run_their_own_pipeline(semi_dataset_cfg, write_pseudo_labels,
                                      tmp_path):
    load = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations')]
    strong = load + [
        dict(type='StrongAugment', num_ops=1, ops=['invert_channel']),
        dict(type='PackSegInputs', meta_keys=('img_path', 'strong_ops'))
    ]
    dataset = DATASETS.build(
        semi_dataset_cfg(
            pipeline=load + [dict(type='PackSegInputs')],
            strong_pipeline=strong))
    write_pseudo_labels(dataset, str(tmp_path / 'round_1'), 7)
    dataset.set_pseudo_label_dir(str(tmp_path / 'round_1'))
    for image in (2, 9):  # a labeled and an unlabeled image
        weak, strong = dataset[image], dataset[16 + image]
        assert weak['data_samples'].view == 'weak'
        assert strong['data_samples'].view == 'strong'
        assert strong['data_samples'].strong_ops == ['invert_channel']
        assert weak['data_samples'].is_pseudo == strong[
            'data_samples'].is_pseudo == (
                image >= 6)
        assert weak['data_samples'].img_path == strong['data_samples'].img_path
        assert not torch.equal(weak['inputs'], strong['inputs'])
        # Labels are untouched by the strong view.
        assert torch.equal(weak['data_samples'].gt_sem_seg.data,
                           strong['data_samples'].gt_sem_seg.data)
    with pytest.raises(IndexError, match='32'):
        dataset[32]


def test_a_part_with_its_own_pipeline_is_refused(semi_dataset_cfg):
    cfg = semi_dataset_cfg()
    cfg['labeled']['pipeline'] = [dict(type='LoadImageFromFile')]
    with pytest.raises(ValueError, match='labeled dataset has a pipeline'):
        DATASETS.build(cfg)


def test_unlabeled_unreadable_until_pseudo_labels(semi_dataset_cfg,
                                                  write_pseudo_labels,
                                                  tmp_path):
    dataset = DATASETS.build(semi_dataset_cfg())
    with pytest.raises(RuntimeError, match='no pseudo labels'):
        dataset[6]
    with pytest.raises(RuntimeError, match='no pseudo labels'):
        dataset[16 + 6]
    write_pseudo_labels(dataset, str(tmp_path / 'round_1'), 7)
    dataset.set_pseudo_label_dir(str(tmp_path / 'round_1'))
    sample = dataset[6]
    assert sample['data_samples'].is_pseudo is True
    assert sample['data_samples'].seg_map_path.startswith(
        str(tmp_path / 'round_1'))
    assert (sample['data_samples'].gt_sem_seg.data == 7).all()


def test_incomplete_round_is_refused(semi_dataset_cfg, write_pseudo_labels,
                                     tmp_path):
    dataset = DATASETS.build(semi_dataset_cfg())
    write_pseudo_labels(dataset, str(tmp_path / 'r1'), 3)
    dataset.set_pseudo_label_dir(str(tmp_path / 'r1'))
    # Every label file of r2 exists, but its marker does not: a pass that
    # was interrupted before it finished (or labels copied in by hand).
    write_pseudo_labels(dataset, str(tmp_path / 'r2'), 4)
    os.remove(str(tmp_path / 'r2' / COMPLETE_MARKER))
    with pytest.raises(FileNotFoundError, match=COMPLETE_MARKER):
        dataset.set_pseudo_label_dir(str(tmp_path / 'r2'))
    # Nothing changed: still reading the complete round.
    assert dataset.pseudo_label_dir == str(tmp_path / 'r1')
    assert (dataset[8]['data_samples'].gt_sem_seg.data == 3).all()
    mark_round_complete(str(tmp_path / 'r2'), {})
    dataset.set_pseudo_label_dir(str(tmp_path / 'r2'))
    assert (dataset[8]['data_samples'].gt_sem_seg.data == 4).all()


def test_empty_unlabeled_list_is_an_error(semi_dataset_cfg, tmp_path):
    cfg = semi_dataset_cfg()
    empty = tmp_path / 'empty.txt'
    empty.write_text('')
    cfg['unlabeled']['ann_file'] = str(empty)
    with pytest.raises(ValueError, match='unlabeled dataset is empty'):
        DATASETS.build(cfg)


def test_no_ground_truth_for_unlabeled(semi_dataset_cfg):
    dataset = DATASETS.build(semi_dataset_cfg(unlabeled_gt=False))
    assert isinstance(dataset, SemiSegDataset)
    assert dataset.unlabeled_gt_dir is None
