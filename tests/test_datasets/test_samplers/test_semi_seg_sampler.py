# Copyright (c) mmseg_sb contributors. All rights reserved.
import itertools
from unittest import mock

import pytest

from mmseg.registry import DATA_SAMPLERS, DATASETS


@pytest.fixture
def dataset(semi_dataset_cfg, write_pseudo_labels, tmp_path):
    """A real SemiSegDataset (6 labeled, 10 unlabeled) and a function that
    gives it pseudo labels."""
    dataset = DATASETS.build(semi_dataset_cfg())

    def add_pseudo_labels():
        write_pseudo_labels(dataset, str(tmp_path / 'round_1'), 1)
        dataset.set_pseudo_label_dir(str(tmp_path / 'round_1'))

    dataset.add_pseudo_labels = add_pseudo_labels
    return dataset


#: The tiny dataset: 6 labeled + 10 unlabeled images; index n + i is the
#: strong view of image i.
N, NUM_LABELED = 16, 6


def build(dataset, **kwargs):
    cfg = dict(type='SemiSegSampler', batch_size=4, num_weak=2, seed=0)
    cfg.update(kwargs)
    return DATA_SAMPLERS.build(cfg, default_args=dict(dataset=dataset))


def batches(sampler, n):
    it = iter(sampler)
    return [list(itertools.islice(it, sampler.batch_size)) for _ in range(n)]


def test_round_0_draws_weak_labeled_views_only(dataset):
    for composition in ('union', 'split'):
        for batch in batches(build(dataset, composition=composition), 10):
            assert all(i < NUM_LABELED for i in batch)


def test_union_halves_draw_from_labeled_and_pseudo_images(dataset):
    """The release: a weak and a strong half, each uniform over the union."""
    dataset.add_pseudo_labels()
    weak, strong = [], []
    for batch in batches(build(dataset), 400):
        assert all(i < N for i in batch[:2])  # weak views
        assert all(N <= i < 2 * N for i in batch[2:])  # strong views
        weak += batch[:2]
        strong += [i - N for i in batch[2:]]
    for half in (weak, strong):
        assert set(half) == set(range(N))  # every image, in both views
        labeled_share = sum(i < NUM_LABELED for i in half) / len(half)
        assert labeled_share == pytest.approx(NUM_LABELED / N, abs=0.01)


def test_split_is_labeled_weak_then_pseudo_strong(dataset):
    dataset.add_pseudo_labels()
    seen_pseudo = set()
    for batch in batches(build(dataset, composition='split'), 20):
        assert all(i < NUM_LABELED for i in batch[:2])
        assert all(N + NUM_LABELED <= i < 2 * N for i in batch[2:])
        seen_pseudo.update(batch[2:])
    assert seen_pseudo == set(range(N + NUM_LABELED, 2 * N))


@pytest.mark.parametrize('composition', ['union', 'split'])
def test_ranks_get_same_layout_and_disjoint_shards(dataset, composition):
    dataset.add_pseudo_labels()
    per_rank = []
    for rank in range(2):
        with mock.patch(
                'mmseg_sb.datasets.samplers.streams.get_dist_info',
                return_value=(rank, 2)):
            per_rank.append(
                batches(build(dataset, composition=composition), 2))
    for rank_batches in per_rank:
        for batch in rank_batches:
            assert [i < N for i in batch] == [True, True, False, False]
    # Within one pass over each stream, the ranks' samples do not overlap.
    weak = [set(i for b in r for i in b[:2]) for r in per_rank]
    strong = [set(i for b in r for i in b[2:]) for r in per_rank]
    assert not weak[0] & weak[1]
    assert not strong[0] & strong[1]


def test_seeded_and_reproducible(dataset):
    dataset.add_pseudo_labels()
    assert batches(build(dataset), 6) == batches(build(dataset), 6)
    assert batches(build(dataset), 6) != batches(build(dataset, seed=1), 6)


def test_bad_arguments(dataset):
    with pytest.raises(ValueError, match='num_weak=5'):
        build(dataset, batch_size=4, num_weak=5)
    with pytest.raises(ValueError, match='num_weak=0'):
        build(dataset, num_weak=0)
    with pytest.raises(ValueError, match="composition='mixed'"):
        build(dataset, composition='mixed')
    with pytest.raises(TypeError, match='SemiSegDataset'):
        build(list(range(10)))
