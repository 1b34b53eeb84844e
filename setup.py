# Copyright (c) mmseg_sb contributors. All rights reserved.
import os
import os.path as osp
import shutil
import warnings
from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

REPO = osp.dirname(osp.abspath(__file__))
#: Where MMEngine looks for a package's configs: ``mmseg_sb::configs/<path>``
#: is ``mmseg_sb/.mim/configs/configs/<path>`` (see mmseg_sb/registry.py).
MIM_DIR = osp.join('mmseg_sb', '.mim')
#: MMEngine reads this index before it looks in ``.mim/configs``; the configs
#: have no metafiles (no released checkpoints), so it lists none.
MODEL_INDEX = ('# Written by setup.py. MMEngine reads it before it resolves '
               '`mmseg_sb::configs/<path>` to configs/<path>.\nImport: []\n')


def get_version():
    namespace = {}
    with open('mmseg_sb/version.py', encoding='utf-8') as f:
        exec(compile(f.read(), 'mmseg_sb/version.py', 'exec'), namespace)
    return namespace['__version__']


def ship_configs(mim_dir, mode):
    """Put ``configs/`` at ``mim_dir/configs/configs`` and the model index
    into ``mim_dir``, as MMSeg's ``add_mim_extension`` does: a relative
    symlink (``mode='symlink'``, falling back to a copy where links fail) or a
    copy (``mode='copy'``). ``mmseg_sb::configs/<path>`` then names
    ``configs/<path>``: MMEngine wants a folder in the path, and the leaves
    sit at the top of ``configs/``."""
    src = osp.join(REPO, 'configs')
    root = osp.join(mim_dir, 'configs')
    dst = osp.join(root, 'configs')
    if osp.islink(root) or osp.isfile(root):  # an older layout
        os.remove(root)
    os.makedirs(root, exist_ok=True)
    if osp.islink(dst) or osp.isfile(dst):
        os.remove(dst)
    elif osp.isdir(dst):
        shutil.rmtree(dst)
    if mode == 'symlink':
        try:
            os.symlink(osp.relpath(src, root), dst)
        except OSError:  # Windows without the privilege
            warnings.warn(f'Cannot link {dst} to {src}: copying it instead.')
            mode = 'copy'
    if mode == 'copy':
        shutil.copytree(
            src, dst, ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
    with open(osp.join(mim_dir, 'model-index.yml'), 'w') as f:
        f.write(MODEL_INDEX)


class BuildPyWithConfigs(build_py):
    """``build_py`` that ships ``configs/`` in ``mmseg_sb/.mim/configs``.

    A wheel (``pip install .``) gets a copy in its build tree; an editable
    install (``pip install -e .``) a link in the clone,
    ``mmseg_sb/.mim/configs/configs -> ../../../configs`` (git-ignored), so
    edited configs take effect at once.
    """

    def run(self):
        super().run()
        if self.editable_mode:
            ship_configs(osp.join(REPO, MIM_DIR), 'symlink')
        else:
            ship_configs(osp.join(self.build_lib, MIM_DIR), 'copy')


setup(
    name='mmseg_sb',
    version=get_version(),
    description='Semi-supervised semantic segmentation for MMSegmentation: '
    'A Simple Baseline with Strong Data Augmentation (Yuan et al., ICCV 2021)',
    long_description=open('README.md', encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    license='Apache License 2.0',
    packages=find_packages(exclude=('configs', 'tools', 'tests', 'bench')),
    python_requires='>=3.8',
    install_requires=[
        'mmsegmentation==1.2.2',
        'mmengine==0.10.7',
        'mmcv>=2.0.0rc4,<2.2.0',
        'numpy',
        'opencv-python',
        'ftfy',
        'regex',
        # MMEngine 0.10.7 reads `mmseg::` configs with pkg_resources.
        'setuptools<81',
    ],
    extras_require={
        # mmdet: MMSeg builds Mask2Former only with it (the zoo test).
        'tests': [
            'pytest', 'flake8', 'isort==5.13.2', 'yapf==0.40.1', 'codespell',
            'mmdet==3.3.0'
        ],
    },
    cmdclass={'build_py': BuildPyWithConfigs},
    zip_safe=False)
