# Copyright (c) mmseg_sb contributors. All rights reserved.
"""tools/pseudo_label.py: the labels of a round, made outside the run, file
by file; resumable; a user's mistakes named."""
import json
import os
import os.path as osp
import random
import shutil
import subprocess
import sys

import pytest
import torch
from mmengine.runner import Runner

from mmseg.registry import MODELS
from mmseg_sb.utils import COMPLETE_MARKER
from mmseg_sb.utils.label_round import read_round_provenance

from test_demo import load_tool  # isort: skip

#: Every test here trains through a Runner or runs a tool.
pytestmark = pytest.mark.slow

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(REPO, 'tools', 'pseudo_label.py')
UNLABELED = 'splits/tiny/unlabeled.txt'

pseudo_label = load_tool('pseudo_label')


def run_tool(*args, launcher=None):
    """The tool in a subprocess, as a user runs it (``launcher``: torchrun
    with that many processes)."""
    argv = [sys.executable, TOOL]
    if launcher:
        port = str(random.Random(str(args)).randrange(20000, 30000))
        argv = [
            sys.executable, '-m', 'torch.distributed.run',
            f'--nproc_per_node={launcher}', f'--master_port={port}', TOOL
        ]
    argv += [str(a) for a in args]
    if launcher:
        argv += ['--launcher', 'pytorch']
    return subprocess.run(
        argv, cwd=REPO, capture_output=True, text=True, timeout=600)


def label_bytes(folder):
    """Each PNG under ``folder`` (by relative path) with its bytes."""
    out = {}
    for d, _, files in os.walk(folder):
        for f in files:
            if f.endswith('.png'):
                with open(osp.join(d, f), 'rb') as fh:
                    out[osp.relpath(osp.join(d, f), folder)] = fh.read()
    return out


def marker(folder):
    with open(osp.join(folder, COMPLETE_MARKER)) as f:
        return json.load(f)


@pytest.fixture
def trained(semi_runner_cfg, tmp_path):
    """A short run of the demo config: the teacher trains 2 iterations
    (iter_2.pth), labels round 1 and a student trains 2. Returns the run's
    config file and work dir."""
    # A small lr keeps the teacher near its random start, whose labels vary
    # from pixel to pixel (2 steps at the demo's lr label all road).
    cfg = semi_runner_cfg(
        round_iters=(2, 2),
        custom_hooks=[],
        **{'optim_wrapper.optimizer.lr': 1e-4})
    Runner.from_cfg(cfg).train()
    config = str(tmp_path / 'config.py')
    cfg.dump(config)
    return config, cfg.work_dir


def test_labels_equal_the_round_file_by_file(trained, cityscapes_root,
                                             tmp_path):
    config, work_dir = trained
    teacher = osp.join(work_dir, 'iter_2.pth')
    round_1 = osp.join(work_dir, 'pseudo_labels', 'round_1')
    out = str(tmp_path / 'labels')
    # The unlabeled list, relative to the config's image folder (default).
    done = run_tool(config, teacher, '--images',
                    osp.join(cityscapes_root, UNLABELED), '--out', out)
    assert done.returncode == 0, done.stderr[-3000:]
    assert f'wrote 10 labels and {COMPLETE_MARKER} to {out}' in done.stdout
    expected = label_bytes(round_1)
    assert len(expected) == 10 and label_bytes(out) == expected
    # Not one class everywhere, so equal files say something.
    assert sum(share > 0 for share in marker(round_1)['class_share']) > 1
    # The same provenance: weights, images, TTA, pipeline, label format.
    hooks_provenance = read_round_provenance(round_1)
    assert read_round_provenance(out) == hooks_provenance
    made, hooks = marker(out), marker(round_1)
    assert made['num_images'] == 10
    assert made['class_share'] == pytest.approx(hooks['class_share'])
    assert made['mean_confidence'] == pytest.approx(hooks['mean_confidence'])
    assert 'round' not in made and 'mIoU' not in made  # no ground truth
    # Again: complete, so nothing is written.
    stamps = {
        f: os.stat(osp.join(d, f)).st_mtime_ns
        for d, _, files in os.walk(out)
        for f in files
    }
    again = run_tool(config, teacher, '--images',
                     osp.join(cityscapes_root, UNLABELED), '--out', out)
    assert again.returncode == 0, again.stderr[-3000:]
    assert f'{out} already holds these labels' in again.stdout
    assert {
        f: os.stat(osp.join(d, f)).st_mtime_ns
        for d, _, files in os.walk(out)
        for f in files
    } == stamps
    # An interrupted folder (no marker, some labels) is labeled again.
    os.remove(osp.join(out, COMPLETE_MARKER))
    os.remove(osp.join(out, sorted(expected)[0]))
    redone = run_tool(config, teacher, '--images',
                      osp.join(cityscapes_root, UNLABELED), '--out', out)
    assert redone.returncode == 0, redone.stderr[-3000:]
    assert 'interrupted' in redone.stdout
    assert label_bytes(out) == expected and osp.isfile(
        osp.join(out, COMPLETE_MARKER))
    # A folder of the same images (copied: other paths, so another images
    # hash), in 2 CPU processes: the same labels, each image labeled once.
    images = tmp_path / 'images'
    for rel in expected:
        name = rel[:-len('_gtFine_labelTrainIds.png')] + '_leftImg8bit.png'
        (images / osp.dirname(rel)).mkdir(parents=True, exist_ok=True)
        shutil.copy(
            osp.join(cityscapes_root, 'leftImg8bit', 'train', name),
            images / name)
    shared = str(tmp_path / 'shared')
    done = run_tool(
        config, teacher, '--images', images, '--out', shared, launcher=2)
    assert done.returncode == 0, done.stderr[-3000:]
    assert label_bytes(shared) == expected
    made = read_round_provenance(shared)
    assert made.weights == hooks_provenance.weights
    assert made.images != hooks_provenance.images
    assert marker(shared)['num_images'] == 10


def test_a_run_trains_on_labels_made_elsewhere(semi_runner_cfg,
                                               cityscapes_root, tmp_path):
    """A run from a teacher checkpoint finds round 1's labels, made by the
    tool with that teacher, in its work dir and trains on them without
    labeling."""
    config, teacher = config_and_checkpoint(semi_runner_cfg, tmp_path)
    work_dir = str(tmp_path / 'student')
    round_1 = osp.join(work_dir, 'pseudo_labels', 'round_1')
    done = run_tool(config, teacher, '--images',
                    osp.join(cityscapes_root, UNLABELED), '--out', round_1)
    assert done.returncode == 0, done.stderr[-3000:]
    stamp = os.stat(osp.join(round_1, COMPLETE_MARKER)).st_mtime_ns
    cfg = semi_runner_cfg(
        round_iters=(0, 2),
        work_dir=work_dir,
        custom_hooks=[],
        **{'default_hooks.pseudo_label.teacher_checkpoint': teacher})
    Runner.from_cfg(cfg).train()
    assert os.stat(osp.join(round_1, COMPLETE_MARKER)).st_mtime_ns == stamp
    assert osp.isfile(osp.join(work_dir, 'iter_2.pth'))


def config_and_checkpoint(semi_runner_cfg, tmp_path):
    """The demo config on the tiny data, as a file, and a checkpoint of its
    model's initial weights."""
    cfg = semi_runner_cfg()
    config = str(tmp_path / 'config.py')
    cfg.dump(config)
    checkpoint = str(tmp_path / 'teacher.pth')
    torch.save(
        dict(state_dict=MODELS.build(cfg.model).state_dict()), checkpoint)
    return config, checkpoint


def exit_message(*argv):
    """What the tool exits with, run in this process."""
    with pytest.raises(SystemExit) as e:
        pseudo_label.main([str(a) for a in argv])
    return str(e.value.code)


def test_mistakes_are_named(semi_runner_cfg, cityscapes_root, tmp_path):
    """Each mistake ends in one line naming the value and the fix."""
    config, checkpoint = config_and_checkpoint(semi_runner_cfg, tmp_path)
    images = osp.join(cityscapes_root, 'leftImg8bit', 'train')
    out = tmp_path / 'out'

    def message(images=images, checkpoint=checkpoint):
        return exit_message(config, checkpoint, '--images', images, '--out',
                            out)

    missing = tmp_path / 'no_such_folder'
    assert message(images=missing) == (
        f'pseudo_label: --images {missing} does not exist; give a folder of '
        'images or a list file of `city/name` lines.')
    assert message(checkpoint=tmp_path / 'iter_9.pth') == (
        f'pseudo_label: checkpoint {tmp_path}/iter_9.pth does not exist; pass'
        ' the config a model was trained with and a checkpoint of it '
        '(work_dir/iter_*.pth).')
    (tmp_path / 'notes.pth').write_text('not weights\n')
    text = message(checkpoint=tmp_path / 'notes.pth')
    assert text.startswith(
        f'pseudo_label: {tmp_path}/notes.pth is not a readable checkpoint (')
    assert text.endswith('Give the .pth file that MMEngine saved '
                         '(work_dir/iter_*.pth).')
    assert '\n' not in text
    empty = tmp_path / 'empty'
    empty.mkdir()
    assert message(images=empty) == (
        f'pseudo_label: {empty} holds no images (files ending with '
        '"_leftImg8bit.png", the img_suffix of CityscapesDataset); give the '
        'folder that holds them')
    # A list whose lines carry the image suffix.
    with open(osp.join(cityscapes_root, UNLABELED)) as f:
        first = f.readline().strip()
    names = tmp_path / 'names.txt'
    names.write_text(first + '_leftImg8bit.png\n')
    text = message(images=names)
    assert text.startswith(
        f'pseudo_label: 1 of 1 images of {names} do not exist')
    assert text.endswith('lines are `city/name` without "_leftImg8bit.png".')
    # An --out that holds other files is not deleted.
    out.mkdir()
    (out / 'notes.txt').write_text('kept')
    assert message() == (
        f'pseudo_label: {out} holds files that are no labels of these images '
        f'(1, e.g. {out}/notes.txt), which labeling would delete; give a new '
        'or empty --out.')
    assert (out / 'notes.txt').read_text() == 'kept'
