# Copyright (c) mmseg_sb contributors. All rights reserved.
from setuptools import find_packages, setup


def get_version():
    namespace = {}
    with open('mmseg_sb/version.py', encoding='utf-8') as f:
        exec(compile(f.read(), 'mmseg_sb/version.py', 'exec'), namespace)
    return namespace['__version__']


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
        'tests': [
            'pytest', 'flake8', 'isort==5.13.2', 'yapf==0.40.1', 'codespell'
        ],
    },
    zip_safe=False)
