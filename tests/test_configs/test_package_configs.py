# Copyright (c) mmseg_sb contributors. All rights reserved.
"""The configs ship inside the package (setup.py, mmseg_sb/registry.py): a
config of the user's own project, outside the clone, inherits them as
``mmseg_sb::configs/<path>``, as MMSeg's are inherited as ``mmseg::<path>``."""
import glob
import json
import os
import os.path as osp
import shutil
import subprocess
import sys
import tarfile
import zipfile

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = osp.join(REPO, 'configs')
#: Every file under configs/, by its path there
#: (``mmseg_sb::configs/<path>``).
SHIPPED = {
    osp.relpath(path, CONFIGS)
    for path in glob.glob(osp.join(CONFIGS, '**', '*'), recursive=True)
    if osp.isfile(path) and '__pycache__' not in path
}
#: Where a wheel holds them.
WHEEL_DIR = 'mmseg_sb/.mim/configs/configs/'

#: Configs of a user's project, each inheriting a shipped config: the demo
#: config, and the mission's Cityscapes leaf with the user's own split file
#: and a smaller backbone.
USER_CONFIGS = {
    'my_demo.py':
    """\
_base_ = 'mmseg_sb::configs/demo/sb_deeplabv3plus_r18_synthetic.py'
""",
    'my_cityscapes.py':
    """\
_base_ = 'mmseg_sb::configs/sb_deeplabv3plus_r101_cityscapes_1-8.py'
train_dataloader = dict(dataset=dict(ann_file='splits/my/labeled.txt'))
model = dict(
    pretrained=None,
    backbone=dict(depth=18),
    decode_head=dict(
        in_channels=512, channels=16, c1_in_channels=64, c1_channels=8))
"""
}

#: Run in the user's folder on the names of its configs: loads each (after
#: ``import mmseg_sb``: MMEngine reads ``_base_`` before ``custom_imports``),
#: builds its model and the hooks that the shipped configs define (MMEngine
#: builds those in the ``mmseg_sb`` scope), prints what it found as JSON.
LOAD = r'''
import json, os.path as osp, sys
import mmseg_sb
from mmengine.config import Config
from mmengine.registry import HOOKS, init_default_scope
from mmseg.registry import MODELS

init_default_scope('mmseg')
found = dict(package=osp.dirname(mmseg_sb.__file__))
for name in sys.argv[1:]:
    cfg = Config.fromfile(name)
    base = Config._get_base_files(name)[0]
    hooks = [
        type(HOOKS.build(hook)).__name__
        for hook in cfg.default_hooks.values()
        if hook.get('_scope_') == 'mmseg_sb'
    ]
    found[name] = dict(
        base=Config._get_cfg_path(base, osp.abspath(name))[0],
        model=type(MODELS.build(cfg.model)).__name__,
        ann_file=cfg.train_dataloader.dataset.ann_file,
        hooks=sorted(hooks))
print(json.dumps(found))
'''

#: Run in the user's folder: trains the demo config's two rounds, two
#: iterations each, from ``my_demo.py`` on generated data.
TRAIN = r'''
import os, os.path as osp
import mmseg_sb
from mmengine.config import Config
from mmengine.runner import Runner
from mmseg_sb.testing import make_synthetic_cityscapes, set_data_root

root = osp.abspath('data')
names = make_synthetic_cityscapes(
    root, dict(train=8, val=2), img_size=(64, 128))
os.makedirs(osp.join(root, 'splits', 'demo'))
for part, items in (('labeled', names['train'][:4]),
                    ('unlabeled', names['train'][4:])):
    with open(osp.join(root, 'splits', 'demo', part + '.txt'), 'w') as f:
        f.write('\n'.join(items) + '\n')
cfg = Config.fromfile('my_demo.py')
set_data_root(cfg, root)
cfg.merge_from_dict({
    'work_dir': osp.abspath('work_dir'),
    'train_dataloader.batch_size': 2,
    'train_cfg.student_dataloader.batch_size': 4,
    'train_cfg.student_dataloader.sampler.batch_size': 4,
    'train_cfg.val_interval': 2,
    'val_dataloader.batch_size': 2,
    'default_hooks.pseudo_label.round_iters': [2, 2],
    'default_hooks.checkpoint.interval': 2,
    'default_hooks.logger.interval': 1,
})
Runner.from_cfg(cfg).train()
'''


def user_project(folder):
    """Write the user's configs into ``folder`` (outside the clone)."""
    os.makedirs(folder, exist_ok=True)
    for name, text in USER_CONFIGS.items():
        with open(osp.join(folder, name), 'w') as f:
            f.write(text)
    return str(folder)


def run_python(script, folder, *args, pythonpath=None, timeout=300):
    """Run ``script`` with this interpreter in ``folder``; its output."""
    env = dict(os.environ)
    env.pop('PYTHONPATH', None)
    if pythonpath is not None:
        env['PYTHONPATH'] = pythonpath
    result = subprocess.run([sys.executable, '-c', script, *args],
                            cwd=folder,
                            env=env,
                            capture_output=True,
                            text=True,
                            timeout=timeout)
    assert result.returncode == 0, result.stderr[-3000:]
    # A dict built outside the mmseg_sb scope's registries (MMEngine would
    # fall back to its root registry and miss the project's components).
    assert 'Failed to search registry' not in result.stdout + result.stderr
    return result.stdout


def load_user_configs(folder, pythonpath=None):
    out = run_python(
        LOAD, folder, *USER_CONFIGS, pythonpath=pythonpath).splitlines()
    return json.loads(out[-1])


def check_user_configs(found, configs_dir):
    """The user's configs inherit from ``configs_dir``, and build."""
    demo, cityscapes = found['my_demo.py'], found['my_cityscapes.py']
    assert osp.realpath(demo['base']) == osp.realpath(
        osp.join(configs_dir, 'demo', 'sb_deeplabv3plus_r18_synthetic.py'))
    assert osp.realpath(cityscapes['base']) == osp.realpath(
        osp.join(configs_dir, 'sb_deeplabv3plus_r101_cityscapes_1-8.py'))
    for config in (demo, cityscapes):
        assert config['model'] == 'SemiSupervisedEncoderDecoder'
        # Built in the mmseg_sb scope (LOAD).
        assert 'PseudoLabelHook' in config['hooks']
    # The user's own value over the inherited one.
    assert cityscapes['ann_file'] == 'splits/my/labeled.txt'


def test_inherit_package_configs(tmp_path):
    # The editable install of this clone: its configs through the link
    # mmseg_sb/.mim/configs/configs -> ../../../configs.
    found = load_user_configs(user_project(tmp_path / 'my_project'))
    assert osp.realpath(found['package']) == osp.join(
        osp.realpath(REPO), 'mmseg_sb')
    check_user_configs(found, CONFIGS)


@pytest.mark.slow
def test_train_from_package_config(tmp_path):
    # The dicts of the shipped configs (the loop, hooks, schedulers,
    # datasets) build in the mmseg_sb scope.
    folder = user_project(tmp_path / 'my_project')
    run_python(TRAIN, folder, timeout=600)
    log = ''.join(
        open(path).read()
        for path in glob.glob(osp.join(folder, 'work_dir', '*', '*.log')))
    assert 'Iter(train) [4/4]' in log
    assert 'unsup.loss_sc' in log


def clone(folder):
    """The files of a fresh clone that a build reads (no mmseg_sb/.mim: the
    build makes it), copied to ``folder``: pip builds in the source tree,
    which must not be this shared checkout."""
    ignore = shutil.ignore_patterns('__pycache__', '*.pyc', '.mim')
    for name in ('setup.py', 'setup.cfg', 'MANIFEST.in', 'README.md'):
        shutil.copy(osp.join(REPO, name), osp.join(folder, name))
    for name in ('mmseg_sb', 'configs'):
        shutil.copytree(
            osp.join(REPO, name), osp.join(folder, name), ignore=ignore)
    return str(folder)


def python(*args, cwd=None):
    """Run this interpreter with ``args`` (a build or pip)."""
    result = subprocess.run([sys.executable, *args],
                            cwd=cwd,
                            capture_output=True,
                            text=True,
                            timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr


def wheel_configs(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert 'mmseg_sb/.mim/model-index.yml' in names
    assert not [n for n in names if n.startswith(('configs/', 'tests/'))]
    return {n[len(WHEEL_DIR):] for n in names if n.startswith(WHEEL_DIR)}


@pytest.mark.slow
def test_wheel_ships_configs(tmp_path):
    # `pip install .`: a wheel built from the clone, installed on its own.
    src = clone(tmp_path)
    python('-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation', '-q',
           '-w', str(tmp_path / 'dist'), src)
    wheel, = glob.glob(str(tmp_path / 'dist' / '*.whl'))
    assert wheel_configs(wheel) == SHIPPED
    site = str(tmp_path / 'site')
    python('-m', 'pip', 'install', '--no-deps', '--no-index', '-q', '--target',
           site, wheel)
    found = load_user_configs(
        user_project(tmp_path / 'my_project'), pythonpath=site)
    assert found['package'] == osp.join(site, 'mmseg_sb')
    check_user_configs(
        found, osp.join(site, 'mmseg_sb', '.mim', 'configs', 'configs'))


@pytest.mark.slow
def test_sdist_ships_configs(tmp_path):
    # An sdist carries configs/ (MANIFEST.in); its wheel ships them.
    src = clone(tmp_path)
    dist = str(tmp_path / 'dist')
    python(
        '-c',
        f'from setuptools import build_meta; build_meta.build_sdist({dist!r})',
        cwd=src)
    sdist, = glob.glob(osp.join(dist, '*.tar.gz'))
    names = tarfile.open(sdist).getnames()
    top = names[0].split('/')[0]
    assert {
        n[len(f'{top}/configs/'):]
        for n in names if n.startswith(f'{top}/configs/')
    } >= SHIPPED
    assert not [n for n in names if '/.mim' in n]
    python('-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation', '-q',
           '-w', dist, sdist)
    wheel, = glob.glob(osp.join(dist, '*.whl'))
    assert wheel_configs(wheel) == SHIPPED
