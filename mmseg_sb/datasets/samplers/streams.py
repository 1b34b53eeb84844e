# Copyright (c) mmseg_sb contributors. All rights reserved.
"""Infinite index streams shared by the batch samplers."""
import itertools
from typing import Iterator

import torch
from mmengine.dist import get_dist_info


def rank_stream(start: int,
                stop: int,
                seed: int,
                shuffle: bool = True) -> Iterator[int]:
    """This rank's share of endless passes over ``range(start, stop)``, each
    pass a fresh permutation (seeded by ``seed``, the same on every rank) or
    the plain order; the ranks take disjoint, interleaved shares."""

    def passes() -> Iterator[int]:
        g = torch.Generator()
        g.manual_seed(seed)
        while True:
            order = (
                torch.randperm(stop - start, generator=g)
                if shuffle else torch.arange(stop - start))
            yield from (start + i for i in order.tolist())

    rank, world_size = get_dist_info()
    return itertools.islice(passes(), rank, None, world_size)
