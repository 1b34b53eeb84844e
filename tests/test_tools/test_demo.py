# Copyright (c) mmseg_sb contributors. All rights reserved.
"""tools/demo.py points every dataset of each stage's config at the data of
its seed."""
import os.path as osp
import sys

import pytest
from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(REPO, 'tools'))
import demo  # noqa: E402 isort: skip


def dataset_roots(cfg):
    """The data_root of every dataset config in ``cfg``, found by walking
    the train, val and test datasets."""
    roots = []

    def walk(node):
        if isinstance(node, dict):
            if 'data_root' in node:
                roots.append(node['data_root'])
            for value in node.values():
                walk(value)
        elif isinstance(node, (list, tuple)):
            for value in node:
                walk(value)

    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        walk(cfg[loader].dataset.to_dict())
    return roots


@pytest.mark.parametrize(
    'config', [demo.SB_CONFIG, demo.SUP_CONFIG, demo.CONTROL_CONFIG] +
    list(demo.PEER_CONFIGS.values()))
def test_set_data_root_reaches_every_dataset(config):
    cfg = Config.fromfile(config)
    before = dataset_roots(cfg)
    demo.set_data_root(cfg, 'data/elsewhere/seed_1/')
    after = dataset_roots(cfg)
    # The online peers' train set is a ConcatDataset of labeled and
    # unlabeled parts; the self-training one a SemiSegDataset.
    assert len(after) == len(before) >= 3
    assert set(after) == {'data/elsewhere/seed_1/'}
