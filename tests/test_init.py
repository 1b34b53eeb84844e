# Copyright (c) mmseg_sb contributors. All rights reserved.
"""Importing mmseg_sb, or naming it in custom_imports, is all a user needs."""
import os.path as osp
import subprocess
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def run_python(code):
    return subprocess.run([sys.executable, '-c', code],
                          cwd=REPO,
                          capture_output=True,
                          text=True,
                          timeout=300)


@pytest.mark.slow
def test_import_registers_every_component():
    result = run_python('''
import mmseg_sb
from mmseg.registry import (DATA_SAMPLERS, DATASETS, HOOKS, MODELS,
                            PARAM_SCHEDULERS, TRANSFORMS)
expected = {MODELS: ['SemiSupervisedEncoderDecoder', 'DSBN',
                     'SelfCorrectionLoss', 'UniMatchEncoderDecoder',
                     'FixMatchEncoderDecoder', 'MultiViewDataPreProcessor'],
            TRANSFORMS: ['StrongAugment', 'MultiView', 'RandomCutMixBox',
                         'ColorJitter', 'GaussianBlur'],
            DATASETS: ['SemiSupervisedDataset', 'PseudoLabeledDataset'],
            DATA_SAMPLERS: ['MultiSourceSampler'],
            HOOKS: [
                'PseudoLabelHook', 'ExportModelHook', 'AtomicCheckpointHook',
                'CheckInputsHook', 'WorkDirLockHook'
            ],
            PARAM_SCHEDULERS: ['RoundPolyLR', 'RoundPolyParamScheduler']}
for registry, names in expected.items():
    for name in names:
        assert registry.get(name) is not None, (registry.name, name)
print('ok', mmseg_sb.__version__)
''')
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith('ok 0.1.0')


@pytest.mark.slow
def test_custom_imports_alone_builds_a_config():
    result = run_python('''
import sys

import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope
assert 'mmseg_sb' not in sys.modules
cfg = Config.fromfile('configs/sb_deeplabv3plus_r101_cityscapes_1-8.py')
assert 'mmseg_sb' in sys.modules  # custom_imports did it
init_default_scope('mmseg')
from mmseg.registry import MODELS
cfg.model.pretrained = None
cfg.model.backbone.depth = 18
cfg.model.decode_head.in_channels = 512
cfg.model.decode_head.c1_in_channels = 64
print(type(MODELS.build(cfg.model)).__name__)
''')
    assert result.returncode == 0, result.stderr[-2000:]
    # The last line (the DSBN conversion is logged before it).
    assert result.stdout.strip().splitlines()[-1] == \
        'SemiSupervisedEncoderDecoder'
