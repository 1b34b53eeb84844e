# Copyright (c) mmseg_sb contributors. All rights reserved.
"""CheckInputsHook in the project's configs: a bad file stops the run before
its first iteration, naming the file (issue 24, point 3)."""
import os
import os.path as osp
import shutil

import pytest
from mmengine.runner import Runner

from mmseg_sb.testing import set_data_root

pytestmark = pytest.mark.slow


@pytest.fixture
def data_root(cityscapes_root, tmp_path):
    """A copy of the tiny dataset for a test to damage."""
    root = str(tmp_path / 'data')
    shutil.copytree(cityscapes_root, root)
    return root


def truncate(path):
    with open(path, 'rb') as f:
        content = f.read()
    with open(path, 'wb') as f:
        f.write(content[:len(content) // 3])


def first(root, part, folder, suffix):
    with open(osp.join(root, 'splits', 'tiny', f'{part}.txt')) as f:
        name = f.readline().strip()
    return osp.join(root, folder, 'train', name + suffix)


@pytest.mark.parametrize('part, folder, suffix', [
    ('labeled', 'gtFine', '_gtFine_labelTrainIds.png'),
    ('unlabeled', 'leftImg8bit', '_leftImg8bit.png'),
    ('unlabeled', 'gtFine', '_gtFine_labelTrainIds.png'),
])
def test_bad_file_stops_the_run_before_iteration_1(semi_runner_cfg, data_root,
                                                   part, folder, suffix):
    cfg = semi_runner_cfg(round_iters=(2, 2))
    set_data_root(cfg, data_root)
    bad = first(data_root, part, folder, suffix)
    truncate(bad)
    runner = Runner.from_cfg(cfg)
    with pytest.raises(ValueError, match=f'{bad} cannot be decoded'):
        runner.train()
    assert runner.iter == 0
    assert not [f for f in os.listdir(cfg.work_dir) if f.endswith('.pth')]
    assert not osp.exists(osp.join(cfg.work_dir, 'pseudo_labels', 'round_1'))


def test_decode_false_only_looks_for_files(semi_runner_cfg, data_root):
    cfg = semi_runner_cfg(
        round_iters=(2, 2), **{'default_hooks.check_inputs.decode': False})
    set_data_root(cfg, data_root)
    missing = first(data_root, 'unlabeled', 'leftImg8bit', '_leftImg8bit.png')
    os.remove(missing)
    with pytest.raises(ValueError, match=f'{missing} does not exist'):
        Runner.from_cfg(cfg).train()
