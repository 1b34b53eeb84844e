# Copyright (c) mmseg_sb contributors. All rights reserved.
import os
import os.path as osp
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest

from mmseg_sb.datasets.splits import (check_split, draw_split,
                                      parse_split_line, read_split_list)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
NAME = 'aachen/aachen_000000_000019'


@pytest.mark.parametrize('line', [
    'leftImg8bit/train/aachen/aachen_000000_000019_leftImg8bit.png '
    'gtFine/train/aachen/aachen_000000_000019_gtFine_labelTrainIds.png',
    'leftImg8bit/train/aachen/aachen_000000_000019_leftImg8bit.png',
    'train/aachen/aachen_000000_000019_leftImg8bit.png',
    'aachen/aachen_000000_000019_leftImg8bit.png\tgtFine/x.png',
    NAME,
])
def test_parse_community_formats(line):
    assert parse_split_line(line) == NAME


def test_blank_and_bad_lines():
    assert parse_split_line('   \n') is None
    with pytest.raises(ValueError, match='no CITY/NAME'):
        parse_split_line('just_a_name.png')


def test_read_list_without_final_newline(tmp_path):
    path = tmp_path / 'labeled.txt'
    path.write_text(f'{NAME}_leftImg8bit.png x\n\nbochum/b_1_leftImg8bit.png')
    assert read_split_list(str(path)) == [NAME, 'bochum/b_1']


def test_draw_is_seeded_and_disjoint():
    names = [f'c/n{i}' for i in range(50)]
    lab, unl = draw_split(names, 7, seed=3)
    assert len(lab) == 7 and len(unl) == 43
    assert not set(lab) & set(unl) and set(lab) | set(unl) == set(names)
    assert draw_split(names, 7, seed=3) == (lab, unl)
    assert draw_split(names, 7, seed=4)[0] != lab
    with pytest.raises(ValueError, match='num_labeled=50'):
        draw_split(names, 50)


def test_check_split_errors(cityscapes_root):
    img_dir = osp.join(cityscapes_root, 'leftImg8bit/train')
    lab = read_split_list(osp.join(cityscapes_root, 'splits/tiny/labeled.txt'))
    unl = read_split_list(
        osp.join(cityscapes_root, 'splits/tiny/unlabeled.txt'))
    check_split(lab, unl, img_dir, num_labeled=6)
    with pytest.raises(ValueError, match='both labeled and unlabeled'):
        check_split(lab, unl + lab[:1], img_dir)
    with pytest.raises(ValueError, match='expected 7'):
        check_split(lab, unl, img_dir, num_labeled=7)
    with pytest.raises(ValueError, match='repeats'):
        check_split(lab + lab[:1], unl, img_dir)
    with pytest.raises(ValueError, match='aachen_999999'):
        check_split(lab, unl + ['aachen/aachen_999999_000019'], img_dir)
    with pytest.raises(ValueError, match='unlabeled list is empty'):
        check_split(lab, [], img_dir)


@pytest.mark.slow
def test_cli_convert_draw_check(cityscapes_root, tmp_path):
    lab = read_split_list(osp.join(cityscapes_root, 'splits/tiny/labeled.txt'))
    unl = read_split_list(
        osp.join(cityscapes_root, 'splits/tiny/unlabeled.txt'))
    # A UniMatch-format pair of lists, without a final newline.
    for name, names in (('l.txt', lab), ('u.txt', unl)):
        (tmp_path / name).write_text('\n'.join(
            f'leftImg8bit/train/{n}_leftImg8bit.png '
            f'gtFine/train/{n}_gtFine_labelTrainIds.png' for n in names))

    def cli(*args):
        return subprocess.run(
            [sys.executable, 'tools/splits.py'] + list(args),
            cwd=REPO,
            capture_output=True,
            text=True)

    done = cli('convert', cityscapes_root, '--name', 'conv', '--labeled',
               str(tmp_path / 'l.txt'), '--unlabeled', str(tmp_path / 'u.txt'))
    assert done.returncode == 0, done.stderr
    assert read_split_list(
        osp.join(cityscapes_root, 'splits/conv/labeled.txt')) == lab
    assert cli('check', cityscapes_root, '--name', 'conv').returncode == 0
    drawn = cli('draw', cityscapes_root, '--name', 'drawn', '--fraction',
                '0.25', '--seed', '1')
    assert drawn.returncode == 0, drawn.stderr
    assert len(
        read_split_list(osp.join(cityscapes_root,
                                 'splits/drawn/labeled.txt'))) == 4
    # The community 1-8 split must have 372 labeled images.
    bad = cli('convert', cityscapes_root, '--name', '1-8', '--labeled',
              str(tmp_path / 'l.txt'), '--unlabeled', str(tmp_path / 'u.txt'))
    assert bad.returncode != 0 and 'expected 372' in bad.stderr


@pytest.mark.slow
def test_cli_check_reads_splits_as_training_does(cityscapes_root):
    """A trailing blank line is an image without a name to MMSeg; check
    finds it (it used to call the split fine), and a bad label file."""
    split_dir = osp.join(cityscapes_root, 'splits', 'blank')
    os.makedirs(split_dir, exist_ok=True)
    lab = read_split_list(osp.join(cityscapes_root, 'splits/tiny/labeled.txt'))
    unl = read_split_list(
        osp.join(cityscapes_root, 'splits/tiny/unlabeled.txt'))
    with open(osp.join(split_dir, 'unlabeled.txt'), 'w') as f:
        f.write('\n'.join(unl) + '\n')
    with open(osp.join(split_dir, 'labeled.txt'), 'w') as f:
        f.write('\n'.join(lab) + '\n\n')

    def check(*args):
        return subprocess.run([
            sys.executable, 'tools/splits.py', 'check', cityscapes_root,
            '--name', 'blank', *args
        ],
                              cwd=REPO,
                              capture_output=True,
                              text=True)

    found = check()
    assert found.returncode != 0
    assert f'{split_dir}/labeled.txt has 1 blank line(s) (line ' \
        f'{len(lab) + 1})' in found.stderr
    with open(osp.join(split_dir, 'labeled.txt'), 'w') as f:
        f.write('\n'.join(lab) + '\n')
    assert check().returncode == 0
    # A label with the value 50 of 19 classes, in a copy of the labels.
    seg_dir = osp.join(cityscapes_root, 'gtFine_bad', 'train')
    shutil.copytree(osp.join(cityscapes_root, 'gtFine', 'train'), seg_dir)
    bad = osp.join(seg_dir, lab[0] + '_gtFine_labelTrainIds.png')
    cv2.imwrite(bad, np.full((8, 8), 50, np.uint8))
    found = check('--seg-dir', 'gtFine_bad/train')
    assert found.returncode != 0
    assert f'{bad} has label values [50]' in found.stderr
    assert check('--seg-dir', 'gtFine_bad/train',
                 '--no-decode').returncode == 0
