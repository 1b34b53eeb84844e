# Copyright (c) mmseg_sb contributors. All rights reserved.
"""PseudoLabelMetric: PNGs in the dataset's layout, statistics against
independent references (numpy counts, MMSeg's IoUMetric)."""
import os
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator
from mmengine.structures import PixelData

from mmseg.evaluation import IoUMetric
from mmseg.structures import SegDataSample
from mmseg_sb.evaluation import PseudoLabelMetric

SUFFIX, LABEL = '_leftImg8bit.png', '_gtFine_labelTrainIds.png'


def sample(img_dir, name, logits):
    s = SegDataSample(metainfo=dict(img_path=osp.join(img_dir, name + SUFFIX)))
    s.seg_logits = PixelData(data=logits)
    s.pred_sem_seg = PixelData(data=logits.argmax(0, keepdim=True))
    return s


def test_writes_labels_and_measures_them(tmp_path):
    rng = np.random.default_rng(0)
    img_dir, gt_dir = str(tmp_path / 'img'), str(tmp_path / 'gt')
    names = ['aachen/a_000000', 'bremen/b_000001', 'bremen/b_000002']
    samples = [
        sample(img_dir, n, torch.from_numpy(rng.normal(size=(4, 6, 8))))
        for n in names
    ]
    gts = {}
    for n in names:
        gt = rng.integers(0, 4, size=(6, 8)).astype(np.uint8)
        gt[0, :3] = 255
        os.makedirs(osp.dirname(osp.join(gt_dir, n)), exist_ok=True)
        cv2.imwrite(osp.join(gt_dir, n + LABEL), gt)
        gts[n] = gt
    out_dir = str(tmp_path / 'round_1')
    evaluator = Evaluator(
        PseudoLabelMetric(
            out_dir, img_dir, SUFFIX, LABEL, num_classes=4, gt_dir=gt_dir))
    evaluator.process(samples[:2], {})
    evaluator.process(samples[2:], {})
    stats = evaluator.evaluate(3)

    preds = {}
    for n, s in zip(names, samples):
        written = cv2.imread(
            osp.join(out_dir, n + LABEL), cv2.IMREAD_UNCHANGED)
        np.testing.assert_array_equal(written, s.pred_sem_seg.data[0].numpy())
        preds[n] = written
    left = [f for _, _, fs in os.walk(out_dir) for f in fs]
    assert sorted(left) == sorted(osp.basename(n) + LABEL for n in names)
    assert stats['pseudo/num_images'] == 3
    counts = np.bincount(
        np.concatenate([p.ravel() for p in preds.values()]), minlength=4)
    assert stats['pseudo/class_share'] == pytest.approx(
        (counts / counts.sum()).tolist())
    conf = np.mean(
        np.concatenate([
            s.seg_logits.data.softmax(0).amax(0).numpy().ravel()
            for s in samples
        ]))
    assert stats['pseudo/mean_confidence'] == pytest.approx(conf)
    # MMSeg's own IoUMetric on the same predictions and ground truth.
    reference = IoUMetric(ignore_index=255)
    reference.dataset_meta = dict(classes=('a', 'b', 'c', 'd'))
    reference.process({}, [
        dict(
            pred_sem_seg=dict(data=torch.from_numpy(preds[n][None])),
            gt_sem_seg=dict(
                data=torch.from_numpy(gts[n][None].astype(np.int64))))
        for n in names
    ])
    expected = reference.compute_metrics(reference.results)['mIoU']
    assert 100 * stats['pseudo/mIoU'] == pytest.approx(expected, abs=0.01)


def test_reduce_zero_label_format_reads_back_as_train_ids(tmp_path):
    """ADE20K's format (reduce_zero_label: files hold class id + 1, 0 is
    ignored): MMSeg's LoadAnnotations reads the written PNGs back as the
    predicted train ids, and the ground truth is read as it reads it."""
    from mmseg.datasets.transforms import LoadAnnotations
    rng = np.random.default_rng(1)
    img_dir, gt_dir = str(tmp_path / 'img'), str(tmp_path / 'gt')
    logits = torch.from_numpy(rng.normal(size=(150, 6, 8)))
    s = sample(img_dir, 'x/a', logits)
    files = rng.integers(0, 151, size=(6, 8)).astype(np.uint8)  # 0: ignore
    files[0, 0], files[0, 1] = 0, 150
    os.makedirs(osp.join(gt_dir, 'x'))
    cv2.imwrite(osp.join(gt_dir, 'x', 'a' + LABEL), files)
    out_dir = str(tmp_path / 'round_1')
    evaluator = Evaluator(
        PseudoLabelMetric(
            out_dir,
            img_dir,
            SUFFIX,
            LABEL,
            num_classes=150,
            gt_dir=gt_dir,
            reduce_zero_label=True))
    evaluator.process([s], {})
    stats = evaluator.evaluate(1)

    def load(path):
        return LoadAnnotations()(dict(
            seg_map_path=path, reduce_zero_label=True,
            seg_fields=[]))['gt_seg_map']

    np.testing.assert_array_equal(
        load(osp.join(out_dir, 'x', 'a' + LABEL)),
        s.pred_sem_seg.data[0].numpy())
    gt = load(osp.join(gt_dir, 'x', 'a' + LABEL))
    assert gt[0, 0] == 255 and gt[0, 1] == 149
    pred = s.pred_sem_seg.data[0].numpy()
    valid = gt != 255
    hits = np.bincount(pred[valid][pred[valid] == gt[valid]], minlength=150)
    union = (
        np.bincount(pred[valid], minlength=150) +
        np.bincount(gt[valid], minlength=150) - hits)
    iou = hits[union > 0] / union[union > 0]
    assert stats['pseudo/mIoU'] == pytest.approx(iou.mean())
    with pytest.raises(ValueError, match='255 classes do not fit'):
        PseudoLabelMetric(
            out_dir,
            img_dir,
            SUFFIX,
            LABEL,
            num_classes=255,
            reduce_zero_label=True)


def test_missing_ground_truth_is_named(tmp_path):
    metric = PseudoLabelMetric(
        str(tmp_path / 'out'),
        str(tmp_path / 'img'),
        SUFFIX,
        LABEL,
        num_classes=3,
        gt_dir=str(tmp_path / 'gt'))
    s = sample(str(tmp_path / 'img'), 'c/x', torch.zeros(3, 2, 2))
    with pytest.raises(FileNotFoundError, match=r'gt/c/x' + LABEL):
        metric.process({}, [s.to_dict()])


def test_image_outside_the_suffix_is_refused(tmp_path):
    metric = PseudoLabelMetric(
        str(tmp_path), str(tmp_path), SUFFIX, LABEL, num_classes=3)
    with pytest.raises(ValueError, match='img_suffix'):
        metric.relative_label_path(str(tmp_path / 'c/x.jpg'))


def test_disk_full_stops_the_pass_and_leaves_no_temporary_file(
        tmp_path, monkeypatch):
    """The third PNG write fails midway, as on a full disk: the pass stops
    at the next image with the folder and the reason, the later writes are
    not attempted, and the partial file is removed."""
    import builtins
    import errno
    import time

    from mmseg_sb.evaluation.metrics import pseudo_label_metric
    attempts = []

    def full_disk_open(path, mode='r', *args, **kwargs):
        f = builtins.open(path, mode, *args, **kwargs)
        if 'w' not in mode:
            return f
        attempts.append(path)
        if len(attempts) < 3:
            return f

        class Full:

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                f.close()

            def write(self, data):
                f.write(data[:len(data) // 2])
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        return Full()

    monkeypatch.setattr(
        pseudo_label_metric, 'open', full_disk_open, raising=False)
    out_dir = str(tmp_path / 'round_1')
    metric = PseudoLabelMetric(
        out_dir, str(tmp_path / 'img'), SUFFIX, LABEL, num_classes=3)
    processed = 0
    with pytest.raises(OSError) as error:
        for i in range(40):
            metric.process({}, [
                sample(str(tmp_path / 'img'), f'c/x{i}', torch.zeros(
                    3, 2, 2)).to_dict()
            ])
            processed += 1
            time.sleep(0.01)  # the model's time per image
        metric.evaluate(40)
    assert f'writing pseudo labels into {out_dir} failed' in str(error.value)
    assert 'No space left on device' in str(error.value)
    assert processed < 10 and len(attempts) <= processed + 1
    left = sorted(f for _, _, fs in os.walk(out_dir) for f in fs)
    assert left == [f'x{i}{LABEL}' for i in range(2)]
