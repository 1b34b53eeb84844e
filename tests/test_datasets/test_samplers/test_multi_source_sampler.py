# Copyright (c) mmseg_sb contributors. All rights reserved.
import itertools
from unittest import mock

import pytest
from mmengine.dataset import ConcatDataset

from mmseg.registry import DATA_SAMPLERS, DATASETS


@pytest.fixture
def sources(cityscapes_root):
    """The tiny split's 6 labeled and 10 unlabeled images, concatenated."""

    def part(name):
        return DATASETS.build(
            dict(
                type='CityscapesDataset',
                data_root=cityscapes_root,
                ann_file=f'splits/tiny/{name}.txt',
                data_prefix=dict(img_path='leftImg8bit/train'),
                pipeline=[]))

    return ConcatDataset([part('labeled'), part('unlabeled')])


def build(dataset, **kwargs):
    cfg = dict(
        type='MultiSourceSampler', batch_size=4, source_ratio=[1, 1], seed=0)
    cfg.update(kwargs)
    return DATA_SAMPLERS.build(cfg, default_args=dict(dataset=dataset))


def batches(sampler, n):
    it = iter(sampler)
    return [list(itertools.islice(it, sampler.batch_size)) for _ in range(n)]


@pytest.mark.parametrize('batch_size,ratio,counts', [(4, [1, 1], [2, 2]),
                                                     (5, [1, 1], [3, 2]),
                                                     (6, [1, 2], [2, 4])])
def test_every_batch_holds_each_sources_share(sources, batch_size, ratio,
                                              counts):
    sampler = build(sources, batch_size=batch_size, source_ratio=ratio)
    assert sampler.num_per_source == counts
    seen = set()
    for batch in batches(sampler, 30):
        assert [i < 6
                for i in batch] == [True] * counts[0] + [False] * counts[1]
        seen.update(batch)
    assert seen == set(range(16))  # every image of both sources


def test_ranks_draw_disjoint_shares(sources):
    per_rank = []
    for rank in range(2):
        with mock.patch(
                'mmseg_sb.datasets.samplers.streams.get_dist_info',
                return_value=(rank, 2)):
            per_rank.append(batches(build(sources), 2))
    labeled = [{i for b in r for i in b[:2]} for r in per_rank]
    unlabeled = [{i for b in r for i in b[2:]} for r in per_rank]
    assert not labeled[0] & labeled[1]
    assert not unlabeled[0] & unlabeled[1]


def test_bad_arguments(sources):
    with pytest.raises(ValueError, match='one positive share per source'):
        build(sources, source_ratio=[1])
    with pytest.raises(ValueError, match='leaves a source without samples'):
        build(sources, batch_size=1)
    with pytest.raises(TypeError, match='ConcatDataset'):
        build(sources.datasets[0])
