# Copyright (c) mmseg_sb contributors. All rights reserved.
from mmengine.config import Config

from mmseg_sb.utils import iter_dicts


def test_every_dict_of_nested_dicts_lists_and_tuples_once():
    leaf_a, leaf_b, leaf_c = dict(a=1), dict(b=2), dict(c=3)
    cfg = dict(x=[leaf_a, (leaf_b, 5)], y=dict(z=leaf_c), w='s')
    found = list(iter_dicts(cfg))
    assert found[0] is cfg
    assert sorted(map(id, found)) == sorted(
        map(id, [cfg, leaf_a, leaf_b, cfg['y'], leaf_c]))
    assert list(iter_dicts('text')) == [] and list(iter_dicts(None)) == []


def test_dicts_are_the_configs_own():
    cfg = Config(dict(loader=dict(dataset=dict(parts=[dict(data_root='a')]))))
    for node in iter_dicts(cfg.loader):
        if 'data_root' in node:
            node['data_root'] = 'b'
    assert cfg.loader.dataset.parts[0].data_root == 'b'
