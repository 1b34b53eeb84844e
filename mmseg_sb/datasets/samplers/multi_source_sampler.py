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

    Every method of this package trains on batches made of sources in fixed
    shares: the online methods (UniMatch, FixMatch) on labeled and unlabeled
    images, the Simple Baseline's students on a weak and a strong half.
    MMEngine's ``ConcatDataset`` holds the datasets, and this sampler makes
    every batch of ``batch_size`` indices hold ``num_per_source[k]``
    samples of source ``k``, in source order, the same layout on every rank.
    A source is one dataset, or several (``sources``) drawn as one: the
    Simple Baseline's release draws each half uniformly from the labeled and
    the pseudo-labeled images together. The counts follow ``source_ratio``
    as in MMDetection 3.x's ``MultiSourceSampler`` (the first source takes
    the remainder). Each source is an endless shuffled stream, and each rank
    draws a disjoint share of it.

    Args:
        dataset (ConcatDataset): The datasets, concatenated.
        batch_size (int): Samples per batch on each rank; must equal the
            dataloader's ``batch_size``.
        source_ratio (Sequence[int | float]): Share of each source in a
            batch, e.g. ``[1, 1]``.
        sources (Sequence[Sequence[int]], optional): The datasets of each
            source, by position in ``dataset.datasets``, each used at most
            once. Defaults to one source per dataset.
        shuffle (bool): Whether to shuffle each source. Defaults to True.
        seed (int, optional): Random seed, synchronised across ranks.
            Defaults to None.
    """

    def __init__(self,
                 dataset: ConcatDataset,
                 batch_size: int,
                 source_ratio: Sequence[float],
                 sources: Optional[Sequence[Sequence[int]]] = None,
                 shuffle: bool = True,
                 seed: Optional[int] = None) -> None:
        if not isinstance(dataset, ConcatDataset):
            raise TypeError('MultiSourceSampler needs a ConcatDataset of the '
                            f'sources, got {type(dataset).__name__}.')
        num_datasets = len(dataset.datasets)
        if sources is None:
            sources = [[k] for k in range(num_datasets)]
        sources = [list(source) for source in sources]
        used = list(itertools.chain.from_iterable(sources))
        if not all(sources) or len(set(used)) != len(used) or \
                not set(used) <= set(range(num_datasets)):
            raise ValueError(
                f'MultiSourceSampler sources={sources} must name datasets '
                f'by position (0 to {num_datasets - 1}), each at most once, '
                'and no source empty.')
        if len(source_ratio) != len(sources) or min(source_ratio) <= 0:
            raise ValueError(
                f'MultiSourceSampler source_ratio={list(source_ratio)} needs '
                f'one positive share per source ({len(sources)}).')
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
        self.sources = sources
        self.num_per_source: List[int] = num_per_source
        self.shuffle = shuffle
        self.seed = sync_random_seed() if seed is None else seed

    def _indices(self, source: List[int]) -> List[int]:
        """The indices of ``source``'s datasets in the concatenation."""
        ends = self.dataset.cumulative_sizes
        return [
            i for k in source for i in range(ends[k - 1] if k else 0, ends[k])
        ]

    def __iter__(self) -> Iterator[int]:
        streams = []
        for k, source in enumerate(self.sources):
            indices = self._indices(source)
            streams.append(
                map(indices.__getitem__,
                    rank_stream(0, len(indices), self.seed + k, self.shuffle)))
        while True:
            for stream, n in zip(streams, self.num_per_source):
                yield from itertools.islice(stream, n)

    def __len__(self) -> int:
        """The length of the dataset, as MMEngine's InfiniteSampler."""
        return len(self.dataset)

    def set_epoch(self, epoch: int) -> None:
        """Not used by an infinite sampler (kept for the sampler API)."""
