# Copyright (c) mmseg_sb contributors. All rights reserved.
"""Every config parses and builds; the main command starts as named."""
import os.path as osp
import subprocess
import sys

import pytest
from mmengine.config import Config

from mmseg.registry import MODELS
from mmseg_sb.apis.compare import labeled_part
from mmseg_sb.datasets.splits import draw_split, write_ann_file
from mmseg_sb.models import DSBN
from mmseg_sb.testing import make_synthetic_cityscapes

from conftest import LEAF_CONFIGS, REPO, SHRINK  # isort: skip


def test_every_split_has_both_configs():
    names = {osp.basename(p) for p in LEAF_CONFIGS}
    for split in ('1-16', '1-8', '1-4', '1-2', 'full'):
        assert f'sb_deeplabv3plus_r101_cityscapes_{split}.py' in names
        assert f'sup_deeplabv3plus_r101_cityscapes_{split}.py' in names
    for split in ('1-16', '1-8', '1-4', '1-2'):
        assert f'unimatch_deeplabv3plus_r101_cityscapes_{split}.py' in names


#: Labeled images of the Cityscapes splits (of 2975 training images).
NUM_LABELED = {'1-16': 186, '1-8': 372, '1-4': 744, '1-2': 1488}


def check_online(cfg, name):
    """UniMatch / FixMatch: UniMatch's release settings on Cityscapes."""
    fixmatch = name.startswith('fixmatch_')
    assert cfg.model.type == ('FixMatchEncoderDecoder'
                              if fixmatch else 'UniMatchEncoderDecoder')
    loader = cfg.train_dataloader
    assert loader.sampler.type == 'MultiSourceSampler'
    assert loader.sampler.batch_size == loader.batch_size
    assert loader.sampler.source_ratio == [1, 1]
    assert loader.dataset.type == 'SemiSupervisedDataset'
    views = loader.dataset.unlabeled.pipeline[-1]
    assert views.type == 'MultiView'
    strong = ['strong_1'] if fixmatch else ['strong_1', 'strong_2']
    assert sorted(views.views) == sorted(['weak'] + strong)
    semi = cfg.model.semi_train_cfg
    assert semi.conf_thresh == 0.95 and semi.sup_weight == 0.5
    assert semi.unsup_weight == (
        dict(strong_1=0.5) if fixmatch else dict(
            strong_1=0.125, strong_2=0.125, fp=0.25))
    if 'cityscapes' in name:
        assert loader.batch_size == 4  # 2 + 2 per GPU, 4 GPUs
        assert cfg.optim_wrapper.optimizer.lr == 0.005
        assert cfg.optim_wrapper.optimizer.weight_decay == 0.0001
        assert cfg.model.decode_head.sampler.thresh == 0.7
        split = name.split('_')[-1][:-3]
        # 240 epochs of the unlabeled images, 8 per step.
        iters = 240 * ((2975 - NUM_LABELED[split]) // 8)
        assert cfg.train_cfg.max_iters == iters
        # PolyLR's end defaults to max_iters (MMEngine's Runner).
        assert cfg.param_scheduler[0].get('end', iters) == iters
        crop = [
            t for t in labeled_part(cfg).pipeline if t.type == 'RandomCrop'
        ]
        assert crop[0].crop_size == (801, 801)


@pytest.mark.parametrize('path', LEAF_CONFIGS, ids=osp.basename)
def test_config_parses_and_builds(path):
    cfg = Config.fromfile(path)
    name = osp.basename(path)
    # Atomic saves (tests/test_engine/test_hooks/test_checkpoint_hook.py).
    assert cfg.default_hooks.checkpoint.type == 'AtomicCheckpointHook'
    if name.startswith('sb_'):
        assert cfg.model.type == 'SemiSupervisedEncoderDecoder'
        # Round 0 (the teacher): labeled images in the weak view.
        teacher = cfg.train_dataloader
        assert teacher.sampler.type == 'InfiniteSampler'
        assert 'StrongAugment' not in [
            t.type for t in teacher.dataset.pipeline
        ]
        hook = cfg.default_hooks.pseudo_label
        assert hook.type == 'PseudoLabelHook'
        # The rounds are given once: the loop and schedulers follow them
        # (tests/test_engine/test_runner checks that they do).
        assert cfg.train_cfg.type == 'SelfTrainingLoop'
        assert 'max_iters' not in cfg.train_cfg
        for scheduler in cfg.param_scheduler:
            assert 'round_iters' not in scheduler
        # The release's settings (README's settings list): each student
        # batch is a weak and a strong half, each from the union of labeled
        # and pseudo-labeled images.
        student = cfg.train_cfg.student_dataloader
        assert student.dataset.type == 'SemiSupervisedDataset'
        assert student.dataset.unlabeled.type == 'PseudoLabeledDataset'
        sampler = student.sampler
        assert sampler.type == 'MultiSourceSampler'
        assert sampler.sources == [[0, 1], [2, 3]]  # 'union'
        assert sampler.source_ratio == [1, 1]  # halves
        assert sampler.batch_size == student.batch_size
        assert student.batch_size == teacher.batch_size
        if 'cityscapes' in name:  # the release: 2 + 2 per GPU
            assert student.batch_size == 4
        weak, strong = student.dataset.views
        assert [weak[-1].type, strong[-1].type] == ['MultiView'] * 2
        assert (list(weak[-1].views), list(strong[-1].views)) == (['weak'],
                                                                  ['strong'])
        strong = [t.type for t in strong]
        assert strong.count('StrongAugment') == 1
        # Strong augmentation before the geometric weak ops.
        assert strong.index('StrongAugment') < strong.index('RandomResize')
        assert 'StrongAugment' not in [t.type for t in weak]
        # The students see the teacher's labeled images (SelfTrainingLoop
        # takes them from train_dataloader) and weak pipeline.
        assert 'labeled' not in student.dataset
        assert weak[:-1] == teacher.dataset.pipeline[:-1]
        lr, wd = cfg.param_scheduler
        assert (lr.type, lr.round_mults, lr.eta_min) == ('RoundPolyLR',
                                                         [1.0, 0.2], 0.0)
        assert (wd.param_name, wd.round_mults, wd.power) == ('weight_decay',
                                                             [1.0, 0.0], 0.0)
        assert cfg.optim_wrapper.paramwise_cfg.custom_keys == {
            'decode_head': dict(round_lr_mults=[1.0, 10.0])
        }
        assert hook.tta == ('demo' not in path)
    if name.startswith(('unimatch_', 'fixmatch_')):
        check_online(cfg, name)
    if name.startswith('sup_'):
        assert cfg.model.type == 'EncoderDecoder'
        assert 'StrongAugment' not in [
            t.type for t in cfg.train_dataloader.dataset.pipeline
        ]
        assert cfg.param_scheduler[0].eta_min == 0.0
    if 'cityscapes' in name:
        assert cfg.model.auxiliary_head is None
        assert cfg.model.decode_head.loss_decode.avg_non_ignore
        pipeline = labeled_part(cfg).get(
            'pipeline', cfg.train_dataloader.dataset.get('pipeline'))
        crop = [t for t in pipeline if t.type == 'RandomCrop']
        assert crop[0].get('cat_max_ratio', 1.0) == 1.0
    if 'cityscapes_1-' in name:
        split = name.split('_')[-1][:-3]
        assert labeled_part(cfg).ann_file == f'splits/{split}/labeled.txt'
        if name.startswith('sb_'):
            unlabeled = cfg.train_cfg.student_dataloader.dataset.unlabeled
            assert unlabeled.dataset.ann_file == \
                f'splits/{split}/unlabeled.txt'
    cfg.merge_from_dict(SHRINK)
    model = MODELS.build(cfg.model)
    has_dsbn = any(isinstance(m, DSBN) for m in model.modules())
    assert has_dsbn == name.startswith('sb_')


@pytest.mark.slow
def test_main_command_starts_on_cityscapes_shaped_data(tmp_path):
    root = str(tmp_path / 'cityscapes')
    names = make_synthetic_cityscapes(
        root, dict(train=12, val=2), img_size=(32, 64))
    labeled, unlabeled = draw_split(names['train'], 3, seed=0)
    write_ann_file(labeled, osp.join(root, 'splits/1-8/labeled.txt'))
    write_ann_file(unlabeled, osp.join(root, 'splits/1-8/unlabeled.txt'))
    options = [f'{k}={v}' for k, v in SHRINK.items()] + [
        'model.data_preprocessor.size=(32,32)',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'val_dataloader.num_workers=0',
        'val_dataloader.persistent_workers=False',
        'default_hooks.pseudo_label.round_iters=[2,2]',
        'default_hooks.logger.interval=1', f'val_dataloader.dataset.data_root'
        f'={root}', 'val_dataloader.dataset.pipeline.1.scale=(64,32)'
    ]
    key = 'train_cfg.student_dataloader.dataset'
    options += [
        f'train_dataloader.dataset.data_root={root}',
        'train_dataloader.dataset.pipeline.2.scale=(64,32)',
        'train_dataloader.dataset.pipeline.3.crop_size=(32,32)',
        f'{key}.unlabeled.dataset.data_root={root}',
        f'{key}.views.0.2.scale=(64,32)', f'{key}.views.0.3.crop_size=(32,32)',
        f'{key}.views.1.3.scale=(64,32)', f'{key}.views.1.4.crop_size=(32,32)',
        'train_cfg.student_dataloader.num_workers=0',
        'train_cfg.student_dataloader.persistent_workers=False'
    ]
    result = subprocess.run(
        [
            sys.executable, 'tools/train.py',
            'configs/sb_deeplabv3plus_r101_cityscapes_1-8.py', '--work-dir',
            str(tmp_path / 'wd'), '--cfg-options'
        ] + options,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    log = result.stdout + result.stderr
    assert 'Iter(train) [4/4]' in log
    assert 'unsup.loss_sc' in log
    assert osp.isfile(
        osp.join(tmp_path, 'wd', 'pseudo_labels', 'round_1',
                 'round_complete.json'))
