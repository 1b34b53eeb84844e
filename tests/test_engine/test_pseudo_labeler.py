# Copyright (c) mmseg_sb contributors. All rights reserved.
import os
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from mmengine.config import ConfigDict
from mmengine.registry import init_default_scope

from mmseg.evaluation import IoUMetric
from mmseg.registry import DATASETS, MODELS
from mmseg_sb.engine import PseudoLabeler
from mmseg_sb.utils import COMPLETE_MARKER
from mmseg_sb.utils.label_round import (LABEL_ENCODING, paths_hash,
                                        read_round_provenance, state_dict_hash)

PIPELINE = [dict(type='LoadImageFromFile'), dict(type='PackSegInputs')]


def build_labeler(semi_cfg):
    init_default_scope('mmseg')
    unlabeled = DATASETS.build(semi_cfg['unlabeled'])
    return PseudoLabeler(
        unlabeled.dataset,
        PIPELINE,
        num_classes=19,
        gt_dir=unlabeled.gt_dir,
        num_workers=0,
        progress=False)


def build_model(model_cfg):
    init_default_scope('mmseg')
    torch.manual_seed(0)
    return MODELS.build(ConfigDict(model_cfg)).eval()


def read_labels(folder):
    out = {}
    for d, _, files in os.walk(folder):
        for f in files:
            if f.endswith('.png'):
                out[osp.relpath(osp.join(d, f), folder)] = cv2.imread(
                    osp.join(d, f), cv2.IMREAD_UNCHANGED)
    return out


def test_labels_match_model_prediction_and_stats(semi_dataset_cfg,
                                                 tiny_model_cfg, tmp_path):
    labeler = build_labeler(semi_dataset_cfg(unlabeled_gt=True))
    model = build_model(tiny_model_cfg)
    stats = labeler.run(model, str(tmp_path / 'r1'))
    labels = read_labels(str(tmp_path / 'r1'))
    assert len(labels) == 10 and stats['num_images'] == 10
    # Independent reference: MMSeg's predict on each image, and IoU from
    # MMSeg's IoUMetric over the ground truth.
    areas = []
    for i in range(10):
        info = labeler.dataset.get_data_info(i)
        rel = labeler.relative_label_path(info['img_path'])
        assert rel.endswith('_gtFine_labelTrainIds.png')
        from mmcv.transforms import Compose
        from mmengine.dataset import pseudo_collate
        data = pseudo_collate([Compose(PIPELINE)(dict(info))])
        with torch.no_grad():
            pred = model.test_step(data)[0].pred_sem_seg.data[0].numpy()
        np.testing.assert_array_equal(labels[rel], pred.astype(np.uint8))
        gt = cv2.imread(osp.join(labeler.gt_dir, rel), cv2.IMREAD_UNCHANGED)
        areas.append(
            IoUMetric.intersect_and_union(
                torch.from_numpy(pred), torch.from_numpy(gt.astype(np.int64)),
                19, 255))
    total = [sum(a[k] for a in areas) for k in range(4)]
    metrics = IoUMetric.total_area_to_metrics(*total, ['mIoU'])
    assert stats['mIoU'] == pytest.approx(np.nanmean(metrics['IoU']))
    shares = np.bincount(
        np.concatenate([v.ravel() for v in labels.values()]), minlength=19)
    assert stats['class_share'] == pytest.approx(
        (shares / shares.sum()).tolist())
    assert 0 < stats['mean_confidence'] <= 1


def test_no_ground_truth_means_no_miou(semi_dataset_cfg, tiny_model_cfg,
                                       tmp_path):
    labeler = build_labeler(semi_dataset_cfg(unlabeled_gt=False))
    stats = labeler.run(build_model(tiny_model_cfg), str(tmp_path / 'r1'))
    assert 'mIoU' not in stats and stats['num_images'] == 10


def _label_on_rank(rank, world, init_file, semi_cfg, model_cfg, out_dir,
                   results):
    dist.init_process_group(
        'gloo', init_method=f'file://{init_file}', rank=rank, world_size=world)
    try:
        labeler = build_labeler(semi_cfg)
        stats = labeler.run(build_model(model_cfg), out_dir)
        results[rank] = stats
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_two_process_sharding(semi_dataset_cfg, tiny_model_cfg, tmp_path):
    semi_cfg = semi_dataset_cfg(unlabeled_gt=True)
    single = build_labeler(semi_cfg).run(
        build_model(tiny_model_cfg), str(tmp_path / 'single'))
    manager = mp.Manager()
    results = manager.dict()
    mp.spawn(
        _label_on_rank,
        args=(2, str(tmp_path / 'init'), semi_cfg, dict(tiny_model_cfg),
              str(tmp_path / 'dist'), results),
        nprocs=2)
    # The statistics are summed over ranks: 10 images, labeled once each.
    assert results[0]['num_images'] == results[1]['num_images'] == 10
    assert results[0]['mIoU'] == pytest.approx(single['mIoU'])
    assert results[1]['class_share'] == pytest.approx(single['class_share'])
    single_labels = read_labels(str(tmp_path / 'single'))
    dist_labels = read_labels(str(tmp_path / 'dist'))
    assert sorted(dist_labels) == sorted(single_labels)
    for rel, label in single_labels.items():
        np.testing.assert_array_equal(dist_labels[rel], label)


def test_round_marker_records_what_made_the_labels(semi_dataset_cfg,
                                                   tiny_model_cfg, tmp_path):
    semi_cfg = semi_dataset_cfg(unlabeled_gt=False)
    labeler = build_labeler(semi_cfg)
    labeler.work_dir = str(tmp_path)
    model = build_model(tiny_model_cfg)
    weights = labeler.weights_hash(model)
    assert weights == state_dict_hash(model.state_dict())
    expected = labeler.provenance(weights, 'teacher.pth')
    assert labeler.stale_reasons(
        1, expected) == [f'incomplete (no {COMPLETE_MARKER})']
    labeler.label_round(model, 1, expected)
    found = read_round_provenance(labeler.round_dir(1))
    paths = [labeler.dataset.get_data_info(i)['img_path'] for i in range(10)]
    assert found == expected and found.teacher_checkpoint == 'teacher.pth'
    assert (found.weights, found.num_images,
            found.images) == (weights, 10, paths_hash(paths))
    assert (found.tta, found.pipeline,
            found.seg_map_suffix) == (False, PIPELINE,
                                      '_gtFine_labelTrainIds.png')
    assert found.label_encoding == LABEL_ENCODING
    assert labeler.stale_reasons(1, expected) == []
    # Other weights, TTA or images make the folder stale, field by field.
    other = build_model(tiny_model_cfg)
    with torch.no_grad():
        other.decode_head.conv_seg.bias.add_(1)
    assert [
        r.split(' ')[0] for r in labeler.stale_reasons(
            1, labeler.provenance(labeler.weights_hash(other), None))
    ] == ['weights']
    labeler.tta = True
    assert [
        r.split(' ')[0]
        for r in labeler.stale_reasons(1, labeler.provenance(weights, None))
    ] == ['tta']
    labeler.tta = False
    split = tmp_path / 'nine.txt'
    unlabeled = semi_cfg['unlabeled']['dataset']
    with open(osp.join(unlabeled['data_root'], unlabeled['ann_file'])) as f:
        split.write_text(''.join(f.readlines()[:9]))
    fewer = build_labeler(
        dict(
            semi_cfg,
            unlabeled=dict(
                semi_cfg['unlabeled'],
                dataset=dict(unlabeled, ann_file=str(split)))))
    fewer.work_dir = labeler.work_dir
    assert [
        r.split(' ')[0]
        for r in fewer.stale_reasons(1, fewer.provenance(weights, None))
    ] == ['num_images', 'images']
    # A label file removed after the marker was written.
    os.remove(
        osp.join(labeler.round_dir(1), labeler.relative_label_path(paths[3])))
    [reason] = labeler.stale_reasons(1, expected)
    assert reason.startswith('1 label files missing')


def test_a_label_map_is_refused(cityscapes_root):
    """A dataset whose classes are a subset of its files' would remap the
    written train ids again when the students read them."""
    init_default_scope('mmseg')
    subset = DATASETS.build(
        dict(
            type='CityscapesDataset',
            data_root=cityscapes_root,
            data_prefix=dict(img_path='leftImg8bit/train'),
            metainfo=dict(classes=('road', 'car')),
            lazy_init=True))
    assert subset.label_map
    with pytest.raises(ValueError, match='label_map=.*Give the unlabeled'):
        PseudoLabeler(subset, PIPELINE, num_classes=2)
