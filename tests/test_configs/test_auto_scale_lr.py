# Copyright (c) mmseg_sb contributors. All rights reserved.
"""Every config declares the batch its learning rate was set for
(``auto_scale_lr.base_batch_size``, all GPUs, both halves of a batch), and
MMEngine's Runner scales the lr by (actual batch / that batch) when
``auto_scale_lr.enable=True``."""
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.runner import Runner

from mmseg.registry import PARAM_SCHEDULERS

from conftest import LEAF_CONFIGS, REPO, SHRINK  # isort: skip

#: The GPUs of each config's reference run, by method: the Simple
#: Baseline's release (8 x (2 + 2); its teacher 8 x 4) and the supervised
#: baselines, trained as that teacher; UniMatch's release on Cityscapes
#: (4 x (2 + 2)), which FixMatch follows. The demo configs set their lr
#: for their own batch on one process.
REFERENCE_GPUS = dict(sb=8, sup=8, unimatch=4, fixmatch=4)


def reference_gpus(path):
    if osp.basename(osp.dirname(path)) == 'demo':
        return 1
    return REFERENCE_GPUS[osp.basename(path).split('_')[0]]


@pytest.mark.parametrize('path', LEAF_CONFIGS, ids=osp.basename)
def test_every_config_declares_its_reference_batch(path):
    cfg = Config.fromfile(path)
    assert cfg.auto_scale_lr.enable is False  # opt-in, as in MMSeg
    gpus = reference_gpus(path)
    base = cfg.auto_scale_lr.base_batch_size
    # MMEngine multiplies train_dataloader.batch_size (per GPU) by the
    # world size; the student rounds keep that batch (2 + 2 per GPU).
    assert base == gpus * cfg.train_dataloader.batch_size
    student = cfg.train_cfg.get('student_dataloader')
    if student is not None:
        assert base == gpus * student.batch_size
    if 'cityscapes' in path:
        assert base == {8: 32, 4: 16}[gpus]


def test_runner_scales_the_lr_by_the_actual_batch(tmp_path):
    """The Simple Baseline's 1/8 config on 1 process (4 images per batch)
    against its reference of 32: every parameter group's lr, and the
    per-round poly schedule that starts from it, times 4 / 32."""
    cfg = Config.fromfile(
        osp.join(REPO, 'configs', 'sb_deeplabv3plus_r101_cityscapes_1-8.py'))
    cfg.merge_from_dict(SHRINK)
    cfg.work_dir = str(tmp_path)
    cfg.auto_scale_lr.enable = True
    runner = Runner.from_cfg(cfg)
    assert runner.world_size == 1
    ratio = 4 / 32
    wrapper = runner.build_optim_wrapper(runner.optim_wrapper)
    # The groups that train (wrapper.param_groups adds MMEngine's entry for
    # the logged base_lr, which scale_lr leaves unscaled).
    groups = wrapper.optimizer.param_groups
    assert {group['lr'] for group in groups} == {0.01}
    # As Runner.train(): the optimizer, scale_lr, then the schedulers.
    runner.scale_lr(wrapper, runner.auto_scale_lr)
    for group in groups:
        assert group['lr'] == pytest.approx(0.01 * ratio)
    # The schedulers take the scaled lr as their base. Rounds of 4 + 2
    # iterations stand for the config's (SelfTrainingLoop fills them in).
    schedulers = [
        PARAM_SCHEDULERS.build(dict(s, optimizer=wrapper, round_iters=[4, 2]))
        for s in cfg.param_scheduler
    ]
    for _ in range(4):
        for scheduler in schedulers:
            scheduler.step()
    # The student round: lr x 0.2, the decode head's x 10 on top.
    for group in groups:
        head = 10.0 if 'round_lr_mults' in group else 1.0
        assert group['lr'] == pytest.approx(0.01 * ratio * 0.2 * head)
    assert any('round_lr_mults' in group for group in groups)
