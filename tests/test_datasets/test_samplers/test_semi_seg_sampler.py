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


def build(dataset, **kwargs):
    cfg = dict(type='SemiSegSampler', batch_size=4, num_labeled=2, seed=0)
    cfg.update(kwargs)
    return DATA_SAMPLERS.build(cfg, default_args=dict(dataset=dataset))


def batches(sampler, n):
    it = iter(sampler)
    return [list(itertools.islice(it, sampler.batch_size)) for _ in range(n)]


def test_labeled_only_until_pseudo_labels_then_mixed(dataset):
    sampler = build(dataset)
    for batch in batches(sampler, 5):
        assert all(i < 6 for i in batch)
    dataset.add_pseudo_labels()
    seen_pseudo = set()
    for batch in batches(sampler, 20):
        assert all(i < 6 for i in batch[:2])
        assert all(6 <= i < 16 for i in batch[2:])
        seen_pseudo.update(batch[2:])
    assert seen_pseudo == set(range(6, 16))  # every pseudo sample is drawn


def test_ranks_get_same_layout_and_disjoint_shards(dataset):
    dataset.add_pseudo_labels()
    per_rank = []
    for rank in range(2):
        with mock.patch(
                'mmseg_sb.datasets.samplers.semi_seg_sampler.get_dist_info',
                return_value=(rank, 2)):
            per_rank.append(batches(build(dataset), 1))
    for rank_batches in per_rank:
        for batch in rank_batches:
            assert [i < 6 for i in batch] == [True, True, False, False]
    # Within one pass over each part, the ranks' samples do not overlap.
    labeled = [set(i for b in r for i in b[:2]) for r in per_rank]
    pseudo = [set(i for b in r for i in b[2:]) for r in per_rank]
    assert not labeled[0] & labeled[1]
    assert not pseudo[0] & pseudo[1]


def test_seeded_and_reproducible(dataset):
    dataset.add_pseudo_labels()
    assert batches(build(dataset), 6) == batches(build(dataset), 6)
    assert batches(build(dataset), 6) != batches(build(dataset, seed=1), 6)


def test_bad_arguments(dataset):
    with pytest.raises(ValueError, match='num_labeled=5'):
        build(dataset, batch_size=4, num_labeled=5)
    with pytest.raises(ValueError, match='num_labeled=0'):
        build(dataset, num_labeled=0)
    with pytest.raises(TypeError, match='SemiSegDataset'):
        build(list(range(10)))
