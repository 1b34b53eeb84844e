# Copyright (c) mmseg_sb contributors. All rights reserved.
"""The checks of a run's files against bad files written in Cityscapes'
layout, each a finding of issue 24 (point 3)."""
import os
import os.path as osp

import cv2
import numpy as np
import pytest

from mmseg.datasets import ADE20KDataset
from mmseg.datasets.transforms import LoadAnnotations
from mmseg.registry import DATASETS
from mmseg_sb.datasets.file_check import (FileEntry, blank_lines,
                                          check_dataset_files, check_entry,
                                          values_out_of_range)
from mmseg_sb.testing import make_synthetic_cityscapes

LOAD = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations')]
IMG = '_leftImg8bit.png'
SEG = '_gtFine_labelTrainIds.png'


@pytest.fixture
def root(tmp_path):
    """A fresh copy of 8 train images in Cityscapes' layout, 3 labeled and
    5 unlabeled, for each test to damage."""
    root = str(tmp_path / 'cityscapes')
    names = make_synthetic_cityscapes(root, dict(train=8), img_size=(32, 64))
    os.makedirs(osp.join(root, 'splits'))
    for part, items in (('labeled', names['train'][:3]), ('unlabeled',
                                                          names['train'][3:])):
        with open(osp.join(root, 'splits', f'{part}.txt'), 'w') as f:
            f.write('\n'.join(items) + '\n')
    return root


def dataset(root, part, pipeline=LOAD, seg_map_path='gtFine/train'):
    prefix = dict(img_path='leftImg8bit/train')
    if seg_map_path:
        prefix['seg_map_path'] = seg_map_path
    return DATASETS.build(
        dict(
            type='CityscapesDataset',
            data_root=root,
            ann_file=f'splits/{part}.txt',
            data_prefix=prefix,
            pipeline=pipeline))


def pseudo_labeled(root, gt=True):
    return DATASETS.build(
        dict(
            type='PseudoLabeledDataset',
            dataset=dict(
                type='CityscapesDataset',
                data_root=root,
                ann_file='splits/unlabeled.txt',
                data_prefix=dict(
                    img_path='leftImg8bit/train',
                    **({
                        'seg_map_path': 'gtFine/train'
                    } if gt else {})),
                pipeline=LOAD[:1])))


def names(root, part):
    with open(osp.join(root, 'splits', f'{part}.txt')) as f:
        return f.read().split()


def file_of(root, part, i, kind):
    folder, suffix = ('leftImg8bit', IMG) if kind == 'img' else ('gtFine', SEG)
    return osp.join(root, folder, 'train', names(root, part)[i] + suffix)


def truncate(path):
    with open(path, 'rb') as f:
        content = f.read()
    with open(path, 'wb') as f:
        f.write(content[:len(content) // 2])


def test_good_files_pass_and_are_counted(root):
    count = check_dataset_files([('labeled', dataset(root, 'labeled')),
                                 ('unlabeled', pseudo_labeled(root))])
    assert count == 3 * 2 + 5 * 2  # each image and its (ground-truth) label


def test_truncated_label_is_named(root):
    bad = file_of(root, 'labeled', 1, 'seg')
    truncate(bad)
    with pytest.raises(ValueError, match='1 of 3') as error:
        check_dataset_files([('train', dataset(root, 'labeled'))])
    assert f'{bad} cannot be decoded' in str(error.value)
    assert 'splits/labeled.txt' in str(error.value)


def test_label_value_beyond_the_classes_is_named(root):
    bad = file_of(root, 'labeled', 2, 'seg')
    label = cv2.imread(bad, cv2.IMREAD_UNCHANGED)
    label[0, :3] = (50, 19, 255)  # 255 is the ignore index, 19 a 20th class
    cv2.imwrite(bad, label)
    with pytest.raises(ValueError) as error:
        check_dataset_files([('train', dataset(root, 'labeled'))])
    assert f'{bad} has label values [19, 50]' in str(error.value)


def test_blank_line_of_a_split_file_is_named(root):
    split = osp.join(root, 'splits', 'labeled.txt')
    with open(split, 'a') as f:
        f.write('\n')  # a trailing blank line: MMSeg reads it as an image
    labeled = dataset(root, 'labeled')
    # What MMSeg makes of it: a fourth image without a name.
    assert labeled.get_data_info(3)['img_path'].endswith(f'train/{IMG}')
    assert blank_lines(split) == [4]
    with pytest.raises(ValueError, match=f'{split} has 1 blank line.*line 4'):
        check_dataset_files([('train', labeled)])


@pytest.mark.parametrize('kind', ['img', 'seg'])
def test_truncated_unlabeled_image_and_ground_truth_are_named(root, kind):
    bad = file_of(root, 'unlabeled', 0, kind)
    truncate(bad)
    with pytest.raises(ValueError) as error:
        check_dataset_files([('student', pseudo_labeled(root))])
    assert f'{bad} cannot be decoded' in str(error.value)


def test_missing_files_are_named_without_decoding(root):
    truncate(file_of(root, 'labeled', 0, 'img'))
    missing = file_of(root, 'labeled', 1, 'seg')
    os.remove(missing)
    with pytest.raises(ValueError) as error:
        check_dataset_files([('train', dataset(root, 'labeled'))],
                            decode=False)
    assert str(error.value).startswith('1 of 3 training files are bad')
    assert f'{missing} does not exist' in str(error.value)


def test_labels_are_checked_only_where_they_are_read(root):
    # The online methods' unlabeled images: no LoadAnnotations, no label
    # file needed; nor is the ground truth of a PseudoLabeledDataset that
    # has none.
    for i in range(5):
        os.remove(file_of(root, 'unlabeled', i, 'seg'))
    assert check_dataset_files([
        ('unlabeled', dataset(root, 'unlabeled', LOAD[:1])),
        ('pseudo', pseudo_labeled(root, gt=False)),
    ]) == 5
    with pytest.raises(ValueError, match='5 of 5'):
        check_dataset_files([('pseudo', pseudo_labeled(root))])


def test_wrapped_datasets_are_checked(root):
    truncate(file_of(root, 'unlabeled', 4, 'img'))
    wrapped = DATASETS.build(
        dict(
            type='RepeatDataset',
            times=2,
            dataset=dict(
                type='SemiSupervisedDataset',
                labeled=dict(
                    type='CityscapesDataset',
                    data_root=root,
                    ann_file='splits/labeled.txt',
                    data_prefix=dict(
                        img_path='leftImg8bit/train',
                        seg_map_path='gtFine/train'),
                    pipeline=LOAD),
                unlabeled=dict(
                    type='CityscapesDataset',
                    data_root=root,
                    ann_file='splits/unlabeled.txt',
                    data_prefix=dict(img_path='leftImg8bit/train'),
                    pipeline=LOAD[:1]))))
    with pytest.raises(ValueError, match='1 of 8') as error:
        check_dataset_files([('train', wrapped)])
    assert 'train.dataset.datasets[1]' in str(error.value)


@pytest.mark.parametrize('reduce_zero_label', [False, True])
def test_label_values_agree_with_mmseg_load_annotations(
        tmp_path, reduce_zero_label):
    """A stored value is refused exactly when MMSeg's LoadAnnotations makes
    it neither a class nor the ignore index (ADE20K: 150 classes, stored
    0 to 150 with reduce_zero_label)."""
    num_classes = len(ADE20KDataset.METAINFO['classes'])
    values = np.arange(256, dtype=np.uint8).reshape(16, 16)
    path = str(tmp_path / 'label.png')
    cv2.imwrite(path, values)
    loaded = LoadAnnotations(reduce_zero_label=reduce_zero_label)(dict(
        seg_map_path=path, reduce_zero_label=reduce_zero_label,
        seg_fields=[]))['gt_seg_map']
    expected = sorted(
        int(v) for v, out in zip(values.ravel(), loaded.ravel())
        if out >= num_classes and out != 255)
    entry = FileEntry(path, path, 'test', num_classes, 255, None,
                      reduce_zero_label)
    assert values_out_of_range(values, entry) == expected
    assert len(expected) == (254 - 150 if reduce_zero_label else 255 - 150)
    assert check_entry(entry).startswith(
        f'{path} has label values {expected[:10]}')


def test_a_failed_read_names_the_sample(root):
    semi = DATASETS.build(
        dict(
            type='SemiSupervisedDataset',
            labeled=dict(
                type='CityscapesDataset',
                data_root=root,
                ann_file='splits/labeled.txt',
                data_prefix=dict(
                    img_path='leftImg8bit/train', seg_map_path='gtFine/train'),
                pipeline=[*LOAD, dict(type='PackSegInputs')]),
            unlabeled=dict(
                type='CityscapesDataset',
                data_root=root,
                ann_file='splits/unlabeled.txt',
                data_prefix=dict(img_path='leftImg8bit/train'),
                pipeline=[LOAD[0], dict(type='PackSegInputs')])))
    bad = file_of(root, 'labeled', 0, 'seg')
    truncate(bad)
    with pytest.raises(RuntimeError, match=f'Reading .*{bad} failed: OSError'):
        semi[0]
    assert semi[1]['data_samples'].img_path.endswith(IMG)
