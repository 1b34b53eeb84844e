# Copyright (c) mmseg_sb contributors. All rights reserved.
import itertools
from typing import Iterator, List, Optional, Sequence

from mmengine.dataset import ConcatDataset
from mmengine.dist import sync_random_seed
from torch.utils.data import Sampler

from mmseg.registry import DATA_SAMPLERS
from .streams import rank_stream


@DATA_SAMPLERS.register_module()
class MultiSourceSampler(Sampler):
    """Infinite sampler of batches with a fixed share of each source.

    The online semi-supervised methods (UniMatch, FixMatch) train every step
    on a labeled and an unlabeled batch; MMEngine's ``ConcatDataset`` of the
    two datasets is the source, and this sampler makes every batch of
    ``batch_size`` indices hold ``num_per_source[k]`` samples of dataset
    ``k``, in source order. The counts follow ``source_ratio`` as in
    MMDetection 3.x's ``MultiSourceSampler`` (the first source takes the
    remainder). Each source is an endless shuffled stream, and each rank
    draws a disjoint share of it.

    Args:
        dataset (ConcatDataset): The sources, concatenated.
        batch_size (int): Samples per batch on each rank; must equal the
            dataloader's ``batch_size``.
        source_ratio (Sequence[int | float]): Share of each source in a
            batch, e.g. ``[1, 1]``.
        shuffle (bool): Whether to shuffle each source. Defaults to True.
        seed (int, optional): Random seed, synchronised across ranks.
            Defaults to None.
    """

    def __init__(self,
                 dataset: ConcatDataset,
                 batch_size: int,
                 source_ratio: Sequence[float],
                 shuffle: bool = True,
                 seed: Optional[int] = None) -> None:
        if not isinstance(dataset, ConcatDataset):
            raise TypeError('MultiSourceSampler needs a ConcatDataset of the '
                            f'sources, got {type(dataset).__name__}.')
        if len(source_ratio) != len(dataset.datasets) or \
                min(source_ratio) <= 0:
            raise ValueError(
                f'MultiSourceSampler source_ratio={list(source_ratio)} needs '
                f'one positive share per source ({len(dataset.datasets)}).')
        num_per_source = [
            int(batch_size * r / sum(source_ratio)) for r in source_ratio
        ]
        num_per_source[0] += batch_size - sum(num_per_source)
        if min(num_per_source) < 1:
            raise ValueError(
                f'MultiSourceSampler batch_size={batch_size} with '
                f'source_ratio={list(source_ratio)} leaves a source without '
                f'samples ({num_per_source}); raise batch_size.')
        self.dataset = dataset
        self.batch_size = batch_size
        self.source_ratio = list(source_ratio)
        self.num_per_source: List[int] = num_per_source
        self.shuffle = shuffle
        self.seed = sync_random_seed() if seed is None else seed

    def __iter__(self) -> Iterator[int]:
        starts = [0] + list(self.dataset.cumulative_sizes[:-1])
        streams = [
            rank_stream(start, stop, self.seed + k, self.shuffle)
            for k, (
                start,
                stop) in enumerate(zip(starts, self.dataset.cumulative_sizes))
        ]
        while True:
            for stream, n in zip(streams, self.num_per_source):
                yield from itertools.islice(stream, n)

    def __len__(self) -> int:
        """The length of the dataset, as MMEngine's InfiniteSampler."""
        return len(self.dataset)

    def set_epoch(self, epoch: int) -> None:
        """Not used by an infinite sampler (kept for the sampler API)."""
