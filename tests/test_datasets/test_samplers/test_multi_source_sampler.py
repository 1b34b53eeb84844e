# Copyright (c) mmseg_sb contributors. All rights reserved.
import itertools
from unittest import mock

import pytest
import torch
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
    with pytest.raises(ValueError, match='each at most once'):
        build(sources, sources=[[0, 1], [1]])
    with pytest.raises(ValueError, match='each at most once'):
        build(sources, sources=[[0], [2]])
    with pytest.raises(ValueError, match='one positive share per source'):
        build(sources, sources=[[0, 1]])


# The Simple Baseline's batch compositions, over a SemiSupervisedDataset of the
# tiny split: parts [labeled weak, pseudo weak, labeled strong, pseudo
# strong], so index i < N is image i's weak view and N + i its strong view.
N, NUM_LABELED = 16, 6
UNION, SPLIT = [[0, 1], [2, 3]], [[0], [3]]


@pytest.fixture
def views(semi_dataset_cfg):
    return DATASETS.build(semi_dataset_cfg())


def permutation(n, seed):
    """The reference stream: one torch.randperm pass, seeded."""
    g = torch.Generator()
    g.manual_seed(seed)
    return torch.randperm(n, generator=g).tolist()


def test_union_halves_draw_from_labeled_and_pseudo_images(views):
    """The release: a weak and a strong half, each uniform over the union
    of labeled and pseudo-labeled images, each an independent stream."""
    sampler = build(views, sources=UNION)
    weak, strong = [], []
    for batch in batches(sampler, 400):
        assert all(i < N for i in batch[:2])  # weak views
        assert all(N <= i < 2 * N for i in batch[2:])  # strong views
        weak += batch[:2]
        strong += [i - N for i in batch[2:]]
    # The streams: a permutation of all images per pass, seeded per half.
    assert weak[:N] == permutation(N, 0)
    assert strong[:N] == permutation(N, 1)
    for half in (weak, strong):
        assert set(half) == set(range(N))  # every image, in both views
        labeled_share = sum(i < NUM_LABELED for i in half) / len(half)
        assert labeled_share == pytest.approx(NUM_LABELED / N, abs=0.01)


def test_split_is_labeled_weak_then_pseudo_strong(views):
    seen_pseudo = set()
    for batch in batches(build(views, sources=SPLIT), 20):
        assert all(i < NUM_LABELED for i in batch[:2])
        assert all(N + NUM_LABELED <= i < 2 * N for i in batch[2:])
        seen_pseudo.update(batch[2:])
    assert seen_pseudo == set(range(N + NUM_LABELED, 2 * N))


@pytest.mark.parametrize('composition', [UNION, SPLIT])
def test_ranks_get_same_layout_and_disjoint_shards(views, composition):
    per_rank = []
    for rank in range(2):
        with mock.patch(
                'mmseg_sb.datasets.samplers.streams.get_dist_info',
                return_value=(rank, 2)):
            per_rank.append(batches(build(views, sources=composition), 2))
    for rank_batches in per_rank:
        for batch in rank_batches:
            assert [i < N for i in batch] == [True, True, False, False]
    # Within one pass over each stream, the ranks' samples do not overlap.
    weak = [set(i for b in r for i in b[:2]) for r in per_rank]
    strong = [set(i for b in r for i in b[2:]) for r in per_rank]
    assert not weak[0] & weak[1]
    assert not strong[0] & strong[1]


def test_seeded_and_reproducible(views):
    assert batches(build(views, sources=UNION),
                   6) == batches(build(views, sources=UNION), 6)
    assert batches(build(views, sources=UNION),
                   6) != batches(build(views, sources=UNION, seed=1), 6)
