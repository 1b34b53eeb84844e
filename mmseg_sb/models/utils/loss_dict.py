# Copyright (c) mmseg_sb contributors. All rights reserved.
"""The loss dicts of every segmentor of the package: key prefixes and
weighting (in the form of MMDetection's ``reweight_loss_dict``).

A segmentor logs ``sup.<head>.loss_<term>`` for labeled samples (MMSeg's
own head losses, e.g. ``sup.decode.loss_ce``) and ``unsup.loss_<term>`` for
unlabeled ones (e.g. ``unsup.loss_sc``, ``unsup.loss_strong_1``), with its
other statistics (``unsup.mask_ratio``) beside them. A head trained with its
own loss on pseudo labels (Mask2Former's, PointRend's point head under the
Simple Baseline) logs it as MMSeg names it, under ``unsup.`` (e.g.
``unsup.decode_1.pointloss_ce``).
"""
from typing import Dict, Mapping, Union

from torch import Tensor

#: Loss-key prefixes of the two kinds of sample.
SUP_PREFIX = 'sup'
UNSUP_PREFIX = 'unsup'
#: How every loss entry's name starts (MMSeg's convention; MMEngine sums
#: the entries with ``'loss'`` in their key).
LOSS_PREFIX = 'loss_'


def loss_term(key: str) -> str:
    """The term a loss key names: ``'unsup.loss_strong_1'`` -> ``'strong_1'``.
    """
    name = key.rsplit('.', 1)[-1]
    if not name.startswith(LOSS_PREFIX):
        raise ValueError(f'{key!r} is not a loss key: its last part must '
                         f'start with {LOSS_PREFIX!r}.')
    return name[len(LOSS_PREFIX):]


def reweight_loss_dict(
        losses: Dict[str, Tensor],
        weight: Union[float, Mapping[str, float]]) -> Dict[str, Tensor]:
    """``losses`` with every loss entry scaled; the other entries (accuracy,
    mask ratio, ...) as they are.

    A loss entry is one that MMEngine's ``parse_losses`` sums: ``'loss'`` in
    its key. ``losses`` itself is not modified.

    Args:
        losses (dict[str, Tensor]): Loss dict, e.g. a head's
            ``loss_by_feat`` output.
        weight (float | dict[str, float]): One weight for every loss entry,
            or one per term: ``weight[term]`` scales ``loss_<term>`` (see
            :func:`loss_term`), and every loss entry needs one.

    Returns:
        dict[str, Tensor]: A new dict with the same keys, in the same order.
    """
    per_term = isinstance(weight, Mapping)
    weighted = {}
    for key, value in losses.items():
        if 'loss' in key:
            value = value * (weight[loss_term(key)] if per_term else weight)
        weighted[key] = value
    return weighted
