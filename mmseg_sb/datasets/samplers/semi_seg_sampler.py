# Copyright (c) mmseg_sb contributors. All rights reserved.
import itertools
from typing import Iterator, Optional, Sized

import torch
from mmengine.dist import get_dist_info, sync_random_seed
from torch.utils.data import Sampler

from mmseg.registry import DATA_SAMPLERS


@DATA_SAMPLERS.register_module()
class SemiSegSampler(Sampler):
    """Infinite sampler of mixed batches ``[labeled | pseudo-labeled]``.

    Every batch of ``batch_size`` indices into a :class:`SemiSegDataset`
    starts with ``num_labeled`` labeled samples followed by
    ``batch_size - num_labeled`` pseudo-labeled ones (the paper's 2 + 2 per
    GPU), the same layout on every rank, so that DSBN (and SyncBN inside it)
    splits every batch at the same place. Until the dataset has pseudo labels
    (round 0, the teacher) every batch holds ``batch_size`` labeled samples.
    Each rank draws disjoint shards of two shuffled infinite streams, one per
    part.

    Args:
        dataset (SemiSegDataset): The dataset.
        batch_size (int): Samples per batch on each rank; must equal the
            dataloader's ``batch_size``.
        num_labeled (int): Labeled samples per batch once pseudo labels
            exist.
        shuffle (bool): Whether to shuffle each stream. Defaults to True.
        seed (int, optional): Random seed, synchronised across ranks.
            Defaults to None.
    """

    def __init__(self,
                 dataset: Sized,
                 batch_size: int,
                 num_labeled: int,
                 shuffle: bool = True,
                 seed: Optional[int] = None) -> None:
        if not hasattr(dataset, 'num_labeled'):
            raise TypeError('SemiSegSampler needs a SemiSegDataset, got '
                            f'{type(dataset).__name__}.')
        if not 1 <= num_labeled <= batch_size:
            raise ValueError(
                f'SemiSegSampler num_labeled={num_labeled} must be in '
                f'[1, batch_size={batch_size}]; raise batch_size or lower '
                'num_labeled.')
        self.dataset = dataset
        self.batch_size = batch_size
        self.num_labeled = num_labeled
        self.shuffle = shuffle
        self.seed = sync_random_seed() if seed is None else seed
        self.rank, self.world_size = get_dist_info()

    def _infinite_indices(self, size: int, offset: int) -> Iterator[int]:
        """Shuffled passes over ``range(size)`` shifted by ``offset``."""
        g = torch.Generator()
        g.manual_seed(self.seed + offset)
        while True:
            order = (
                torch.randperm(size, generator=g)
                if self.shuffle else torch.arange(size))
            yield from (offset + i for i in order.tolist())

    def _shard(self, size: int, offset: int) -> Iterator[int]:
        """This rank's share of an infinite stream."""
        return itertools.islice(
            self._infinite_indices(size, offset), self.rank, None,
            self.world_size)

    def __iter__(self) -> Iterator[int]:
        num_labeled = self.dataset.num_labeled
        labeled = self._shard(num_labeled, 0)
        pseudo = self._shard(self.dataset.num_unlabeled, num_labeled)
        while True:
            if self.dataset.has_pseudo_labels:
                yield from itertools.islice(labeled, self.num_labeled)
                yield from itertools.islice(pseudo,
                                            self.batch_size - self.num_labeled)
            else:
                yield from itertools.islice(labeled, self.batch_size)

    def __len__(self) -> int:
        """The length of the dataset, as MMEngine's InfiniteSampler."""
        return len(self.dataset)

    def set_epoch(self, epoch: int) -> None:
        """Not used by an infinite sampler (kept for the sampler API)."""
