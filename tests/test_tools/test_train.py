# Copyright (c) mmseg_sb contributors. All rights reserved.
"""tools/train.py and tools/test.py, run as a user runs them."""
import os
import os.path as osp
import subprocess
import sys

import pytest

from mmseg_sb.utils import val_mious

#: Every test here trains through a Runner or runs a tool.
pytestmark = pytest.mark.slow

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def run_tool(args, cwd=REPO, env=None, timeout=600):
    return subprocess.run(
        [sys.executable] + args,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout)


STUDENT = 'train_cfg.student_dataloader'


def loader_options(data_root):
    """--cfg-options: no data workers, and validation and test on the tiny
    data."""
    return [
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False'
    ] + [
        option for loader in ('val_dataloader', 'test_dataloader')
        for option in (f'{loader}.dataset.data_root={data_root}',
                       f'{loader}.num_workers=0',
                       f'{loader}.persistent_workers=False')
    ]


def tiny_options(data_root, work_dir, rounds=(3, 3)):
    """--cfg-options that point the demo config at the tiny data."""
    rounds = '[' + ','.join(str(r) for r in rounds) + ']'
    return [
        '--work-dir', work_dir, '--cfg-options',
        f'train_dataloader.dataset.data_root={data_root}',
        'train_dataloader.dataset.ann_file=splits/tiny/labeled.txt',
        f'{STUDENT}.dataset.unlabeled.dataset.data_root={data_root}',
        f'{STUDENT}.dataset.unlabeled.dataset.ann_file='
        'splits/tiny/unlabeled.txt', *loader_options(data_root),
        'model.decode_head.channels=16',
        f'default_hooks.pseudo_label.round_iters={rounds}',
        'train_cfg.val_interval=3', 'default_hooks.checkpoint.interval=3',
        'default_hooks.logger.interval=1'
    ]


DEMO_CFG = 'configs/demo/sb_deeplabv3plus_r18_synthetic.py'


def test_train_then_resume_then_test(cityscapes_root, tmp_path):
    work_dir = str(tmp_path / 'wd')
    first = run_tool(['tools/train.py', DEMO_CFG] +
                     tiny_options(cityscapes_root, work_dir, rounds=(3, 3)))
    assert first.returncode == 0, first.stderr[-3000:]
    assert osp.isfile(osp.join(work_dir, 'iter_6.pth'))
    assert max(val_mious(work_dir)) == 6
    # The same run with one more student round: --resume continues from
    # iter_6 (the end of round 1), labels round 2 and trains it.
    resumed = run_tool(
        ['tools/train.py', DEMO_CFG, '--resume'] +
        tiny_options(cityscapes_root, work_dir, rounds=(3, 3, 3)))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    log = resumed.stdout + resumed.stderr
    assert 'Load checkpoint from' in log and 'resumed' in log.lower()
    assert 'Iter(train) [7/9]' in log
    assert 'Iter(train) [1/9]' not in log
    assert osp.isfile(osp.join(work_dir, 'iter_9.pth'))
    assert osp.isdir(osp.join(work_dir, 'pseudo_labels', 'round_2'))
    # MMSeg's test tool evaluates the checkpoint unchanged.
    tested = run_tool(
        ['tools/test.py', DEMO_CFG,
         osp.join(work_dir, 'iter_9.pth')] +
        tiny_options(cityscapes_root, str(tmp_path / 'test'), (3, 3, 3)))
    assert tested.returncode == 0, tested.stderr[-3000:]
    assert 'mIoU' in tested.stdout + tested.stderr


def test_unknown_component_is_named(cityscapes_root, tmp_path):
    result = run_tool(['tools/train.py', DEMO_CFG] +
                      tiny_options(cityscapes_root, str(tmp_path)) +
                      ['model.unsup_loss.type=SelfCorectionLoss'])
    assert result.returncode != 0
    assert 'SelfCorectionLoss is not in the' in result.stderr


def test_missing_data_root_is_named(tmp_path):
    missing = str(tmp_path / 'no_such_root')
    result = run_tool(['tools/train.py', DEMO_CFG] +
                      tiny_options(missing, str(tmp_path / 'wd')))
    assert result.returncode != 0
    assert f'data_root {missing} does not exist' in result.stderr


@pytest.mark.parametrize('tool', ['tools/dist_train.sh', 'tools/dist_test.sh'])
def test_dist_scripts_use_torchrun_and_our_tools(tool):
    with open(osp.join(REPO, tool)) as f:
        text = f.read()
    assert 'torch.distributed.run' in text
    assert '--launcher pytorch' in text


def test_two_processes_through_dist_train_sh(cityscapes_root, tmp_path):
    """tools/dist_train.sh itself, with 2 CPU processes: torchrun, gloo and
    DDP on the CPU (tools/_mmseg_tool.py), the rounds' labeling shared
    between the ranks in one work dir."""
    import os
    import random

    work_dir = str(tmp_path / 'wd')
    env = dict(
        os.environ,
        PATH=osp.dirname(sys.executable) + os.pathsep + os.environ['PATH'],
        PORT=str(random.Random(str(tmp_path)).randrange(20000, 30000)))
    done = subprocess.run(
        ['bash', 'tools/dist_train.sh', DEMO_CFG, '2'] +
        tiny_options(cityscapes_root, work_dir, rounds=(2, 2)) +
        ['train_cfg.val_interval=2', 'default_hooks.checkpoint.interval=2'],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600)
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-3000:]
    # MMEngine's environment report: 2 processes, its pytorch launcher.
    assert 'Distributed launcher: pytorch' in log
    assert 'GPU number: 2' in log  # the world size, GPU or not
    assert "model_wrapper_cfg = dict(\n    device_ids=None," in log
    marker = osp.join(work_dir, 'pseudo_labels', 'round_1',
                      'round_complete.json')
    with open(marker) as f:
        assert '"num_images": 10' in f.read()  # each image once, 2 ranks
    assert max(val_mious(work_dir)) == 4


def test_slurm_train_sh_runs_train_py_per_task(tmp_path):
    """No Slurm here: a stand-in ``srun`` records its arguments, which must
    start one tools/train.py task per GPU with the slurm launcher."""
    import os
    srun = tmp_path / 'srun'
    srun.write_text('#!/usr/bin/env bash\nprintf "%s\\n" "$@"\n')
    srun.chmod(0o755)
    env = dict(
        os.environ,
        PATH=f'{tmp_path}{os.pathsep}{os.environ["PATH"]}',
        GPUS='16',
        GPUS_PER_NODE='8')
    done = subprocess.run([
        'bash', 'tools/slurm_train.sh', 'gpu', 'sb', DEMO_CFG, '--work-dir',
        'work_dirs/x y'
    ],
                          cwd=REPO,
                          env=env,
                          capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr
    args = done.stdout.splitlines()
    assert args[:3] == ['-p', 'gpu', '--job-name=sb']
    assert '--ntasks=16' in args and '--ntasks-per-node=8' in args
    tail = args[args.index('python'):]
    assert tail[3:] == [
        DEMO_CFG, '--launcher=slurm', '--work-dir', 'work_dirs/x y'
    ]
    assert tail[1] == '-u' and tail[2].endswith('tools/train.py')


def write_custom_data(root, seed=0):
    """Generated scenes in MMSeg's BaseSegDataset layout with 4 classes
    (configs/_base_/datasets/custom_semi.py): jpg images, png masks of the
    labeled and val images, unlabeled images without any mask."""
    import cv2
    import numpy as np

    from mmseg_sb.testing import make_synthetic_cityscapes
    scenes = osp.join(root, 'scenes')
    names = make_synthetic_cityscapes(
        scenes, dict(train=12, val=3), img_size=(32, 64), seed=seed)
    parts = dict(
        train=names['train'][:5],
        unlabeled=names['train'][5:],
        val=names['val'])
    for part, items in parts.items():
        split = 'val' if part == 'val' else 'train'
        for name in items:
            stem = osp.basename(name)
            img = cv2.imread(
                osp.join(scenes, 'leftImg8bit', split,
                         name + '_leftImg8bit.png'))
            out = osp.join(root, 'images', part, stem + '.jpg')
            os.makedirs(osp.dirname(out), exist_ok=True)
            cv2.imwrite(out, img)
            if part == 'unlabeled':
                continue  # no mask at all
            label = cv2.imread(
                osp.join(scenes, 'gtFine', split,
                         name + '_gtFine_labelTrainIds.png'),
                cv2.IMREAD_UNCHANGED)
            mask = np.where(label == 255, 255, label % 4).astype(np.uint8)
            out = osp.join(root, 'annotations', part, stem + '.png')
            os.makedirs(osp.dirname(out), exist_ok=True)
            cv2.imwrite(out, mask)
    return parts


def test_two_rounds_on_your_own_data(tmp_path):
    """Issue 22: a user-layout dataset (4 classes, jpg images, unlabeled
    images without masks) trains two rounds through tools/train.py, reports
    no pseudo-label mIoU (no ground truth) and exports."""
    import json
    root = str(tmp_path / 'my_dataset')
    parts = write_custom_data(root)
    work_dir = str(tmp_path / 'wd')
    student = f'{STUDENT}.dataset.unlabeled.dataset'
    done = run_tool([
        'tools/train.py', 'configs/demo/sb_deeplabv3plus_r18_custom_data.py',
        '--work-dir', work_dir, '--cfg-options',
        f'train_dataloader.dataset.data_root={root}',
        f'{student}.data_root={root}', *loader_options(root),
        'default_hooks.pseudo_label.round_iters=[2,2,2]',
        'train_cfg.val_interval=2', 'default_hooks.checkpoint.interval=2'
    ])
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    for r in (1, 2):
        round_dir = osp.join(work_dir, 'pseudo_labels', f'round_{r}')
        written = sorted(
            f for f in os.listdir(round_dir) if f != 'round_complete.json')
        # In the labeled masks' format: <name>.png per unlabeled image.
        assert written == sorted(
            osp.basename(n) + '.png' for n in parts['unlabeled'])
        with open(osp.join(round_dir, 'round_complete.json')) as f:
            stats = json.load(f)
        assert 'mIoU' not in stats and len(stats['class_share']) == 4
    assert max(val_mious(work_dir)) == 6
    assert osp.isfile(osp.join(work_dir, 'export', 'config.py'))


def write_ade20k_data(root, seed=0):
    """Generated scenes in ADE20K's layout and format: jpg images under
    images/{training,validation}, png masks under annotations/ holding
    class id + 1 (0 ignored), as ADE20KDataset reads with
    reduce_zero_label."""
    import cv2
    import numpy as np

    from mmseg_sb.testing import make_synthetic_cityscapes
    scenes = osp.join(root, 'scenes')
    names = make_synthetic_cityscapes(
        scenes, dict(train=12, val=3), img_size=(32, 64), seed=seed)
    for split, part in (('train', 'training'), ('val', 'validation')):
        for i, name in enumerate(names[split]):
            stem = f'ADE_{split}_{i + 1:08d}'
            img = cv2.imread(
                osp.join(scenes, 'leftImg8bit', split,
                         name + '_leftImg8bit.png'))
            train_ids = cv2.imread(
                osp.join(scenes, 'gtFine', split,
                         name + '_gtFine_labelTrainIds.png'),
                cv2.IMREAD_UNCHANGED)
            mask = np.where(train_ids == 255, 0, train_ids + 1)
            for folder, data, ext in (('images', img, '.jpg'),
                                      ('annotations', mask.astype(np.uint8),
                                       '.png')):
                out = osp.join(root, folder, part, stem + ext)
                os.makedirs(osp.dirname(out), exist_ok=True)
                cv2.imwrite(out, data)


def test_two_rounds_on_ade20k_layout(tmp_path):
    """Issue 22: ADE20K, from MMSeg's zoo, as an example of another dataset:
    tools/splits.py draws and checks its split, two rounds train through
    tools/train.py, and the pseudo labels are written in ADE20K's format
    (train id + 1), which MMSeg's LoadAnnotations reads back as the train
    ids; their mIoU, computed here from the files, is the round's."""
    import json

    import cv2
    import numpy as np

    from mmseg.datasets.transforms import LoadAnnotations
    root = str(tmp_path / 'ADEChallengeData2016')
    write_ade20k_data(root)
    ade = ['--dataset', 'ADE20KDataset', '--img-dir', 'images/training']
    done = run_tool([
        'tools/splits.py', 'draw', root, '--name', '1-8', '--num-labeled', '5',
        *ade
    ])
    assert done.returncode == 0, done.stderr[-2000:]
    done = run_tool([
        'tools/splits.py', 'check', root, '--name', '1-8', *ade, '--seg-dir',
        'annotations/training'
    ])
    assert done.returncode == 0, done.stderr[-2000:]
    assert 'Split 1-8: 5 labeled, 7 unlabeled' in done.stdout
    with open(osp.join(root, 'splits', '1-8', 'unlabeled.txt')) as f:
        unlabeled = f.read().split()
    assert unlabeled[0].startswith('ADE_train_')

    work_dir = str(tmp_path / 'wd')
    student = f'{STUDENT}.dataset.unlabeled.dataset'
    done = run_tool([
        'tools/train.py', 'configs/demo/sb_deeplabv3plus_r18_ade20k.py',
        '--work-dir', work_dir, '--cfg-options',
        f'train_dataloader.dataset.data_root={root}',
        f'{student}.data_root={root}', *loader_options(root),
        'default_hooks.pseudo_label.round_iters=[2,2,2]',
        'default_hooks.pseudo_label.tta=False', 'train_cfg.val_interval=2',
        'default_hooks.checkpoint.interval=2'
    ])
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]

    def read(path):
        return LoadAnnotations()(dict(
            seg_map_path=path, reduce_zero_label=True,
            seg_fields=[]))['gt_seg_map']

    for r in (1, 2):
        round_dir = osp.join(work_dir, 'pseudo_labels', f'round_{r}')
        with open(osp.join(round_dir, 'round_complete.json')) as f:
            stats = json.load(f)
        hits, preds, gts = np.zeros((3, 150))
        for name in unlabeled:
            path = osp.join(round_dir, name + '.png')
            written = cv2.imread(path, cv2.IMREAD_UNCHANGED)
            assert written.min() >= 1  # class id + 1: no pixel ignored
            pred = read(path)
            np.testing.assert_array_equal(pred, written.astype(int) - 1)
            gt = read(osp.join(root, 'annotations', 'training', name + '.png'))
            valid = gt != 255
            p, g = pred[valid], gt[valid]
            hits += np.bincount(p[p == g], minlength=150)
            preds += np.bincount(p, minlength=150)
            gts += np.bincount(g, minlength=150)
        union = preds + gts - hits
        iou = hits[union > 0] / union[union > 0]
        assert stats['mIoU'] == pytest.approx(iou.mean())
        assert len(stats['class_share']) == 150
    assert max(val_mious(work_dir)) == 6
