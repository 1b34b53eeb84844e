# Copyright (c) mmseg_sb contributors. All rights reserved.
import itertools
from typing import Iterator, Optional, Sized

from mmengine.dist import sync_random_seed
from torch.utils.data import Sampler

from mmseg.registry import DATA_SAMPLERS
from .streams import rank_stream

#: Batch compositions: the release's weak and strong halves over the union
#: of labeled and pseudo-labeled images, or labeled (weak) | pseudo (strong).
UNION = 'union'
SPLIT = 'split'
COMPOSITIONS = (UNION, SPLIT)


@DATA_SAMPLERS.register_module()
class SemiSegSampler(Sampler):
    """Infinite sampler of ``[weak | strong]`` batches of a
    :class:`SemiSegDataset`.

    Yuan et al., "A Simple Baseline for Semi-supervised Semantic Segmentation
    with Strong Data Augmentation", ICCV 2021. Once the dataset has pseudo
    labels, every batch of ``batch_size`` indices starts with ``num_weak``
    weakly augmented samples followed by ``batch_size - num_weak`` strongly
    augmented ones, the same layout on every rank, so that DSBN (and SyncBN
    inside it) splits every batch at the same place. What fills the halves
    is the ``composition``:

    - ``'union'`` (the paper's release, 2 + 2 per GPU): both halves are drawn
      uniformly, each from its own shuffled stream, from the union of the
      labeled and the pseudo-labeled images, so labeled images are also seen
      strongly augmented and pseudo-labeled ones weakly (at 1/8, about 12.5%
      of each half is ground truth).
    - ``'split'``: labeled images in the weak half, pseudo-labeled ones in
      the strong half (the layout of later methods such as UniMatch).

    Until the dataset has pseudo labels (round 0, the teacher) every batch
    holds ``batch_size`` weakly augmented labeled samples. Each rank draws
    disjoint shards of the shuffled infinite streams.

    Args:
        dataset (SemiSegDataset): The dataset.
        batch_size (int): Samples per batch on each rank; must equal the
            dataloader's ``batch_size``.
        num_weak (int): Weakly augmented samples per batch once pseudo labels
            exist; the rest of the batch is strongly augmented.
        composition (str): ``'union'`` or ``'split'``. Defaults to
            ``'union'``.
        shuffle (bool): Whether to shuffle each stream. Defaults to True.
        seed (int, optional): Random seed, synchronised across ranks.
            Defaults to None.
    """

    def __init__(self,
                 dataset: Sized,
                 batch_size: int,
                 num_weak: int,
                 composition: str = UNION,
                 shuffle: bool = True,
                 seed: Optional[int] = None) -> None:
        if not hasattr(dataset, 'num_images'):
            raise TypeError('SemiSegSampler needs a SemiSegDataset, got '
                            f'{type(dataset).__name__}.')
        if not 1 <= num_weak <= batch_size:
            raise ValueError(
                f'SemiSegSampler num_weak={num_weak} must be in '
                f'[1, batch_size={batch_size}]; raise batch_size or lower '
                'num_weak.')
        if composition not in COMPOSITIONS:
            raise ValueError(
                f'SemiSegSampler composition={composition!r} must be one of '
                f'{COMPOSITIONS}.')
        self.dataset = dataset
        self.batch_size = batch_size
        self.num_weak = num_weak
        self.composition = composition
        self.shuffle = shuffle
        self.seed = sync_random_seed() if seed is None else seed

    def _stream(self, start: int, stop: int, stream: int) -> Iterator[int]:
        """This rank's share of shuffled passes over ``range(start, stop)``;
        ``stream`` tells apart the seeds of independent streams."""
        return rank_stream(start, stop, self.seed + stream, self.shuffle)

    def __iter__(self) -> Iterator[int]:
        num_labeled = self.dataset.num_labeled
        n = self.dataset.num_images  # strong views are at n + image
        if self.composition == UNION:
            weak = self._stream(0, n, 0)
            strong = (n + i for i in self._stream(0, n, 1))
        else:
            weak = self._stream(0, num_labeled, 0)
            strong = (n + i for i in self._stream(num_labeled, n, 1))
        labeled = self._stream(0, num_labeled, 2)
        while True:
            if self.dataset.has_pseudo_labels:
                yield from itertools.islice(weak, self.num_weak)
                yield from itertools.islice(strong,
                                            self.batch_size - self.num_weak)
            else:
                yield from itertools.islice(labeled, self.batch_size)

    def __len__(self) -> int:
        """The length of the dataset, as MMEngine's InfiniteSampler."""
        return len(self.dataset)

    def set_epoch(self, epoch: int) -> None:
        """Not used by an infinite sampler (kept for the sampler API)."""
