# Copyright (c) mmseg_sb contributors. All rights reserved.
"""CutMix of a batch with itself: the image region and its pseudo label move
together (Yun et al., ICCV 2019; as used by UniMatch, CVPR 2023)."""
from typing import Optional, Sequence, Tuple

import torch
from torch import Tensor

#: A box ``(y1, x1, y2, x2)`` in pixels, or None for no box.
Box = Optional[Tuple[int, int, int, int]]


def box_masks(boxes: Sequence[Box], size: Tuple[int, int],
              device: torch.device) -> Tensor:
    """Boolean masks of shape (N, H, W), True inside each sample's box."""
    masks = torch.zeros(len(boxes), *size, dtype=torch.bool, device=device)
    for mask, box in zip(masks, boxes):
        if box is not None:
            y1, x1, y2, x2 = box
            mask[y1:y2, x1:x2] = True
    return masks


def partners(num: int, device: torch.device) -> Tensor:
    """Each sample's mixing partner: the next sample of the batch (the last
    one's is the first), so every sample is pasted into exactly one other."""
    return torch.arange(num, device=device).roll(-1)


def cutmix(x: Tensor, masks: Tensor, partner: Tensor) -> Tensor:
    """``x`` with each sample's masked pixels taken from its partner.

    Args:
        x (Tensor): Images (N, C, H, W) or per-pixel maps (N, H, W): pseudo
            labels, confidences, valid masks. Mix them all with the same
            ``masks`` and ``partner`` so that they move together.
        masks (Tensor): (N, H, W) bool, from :func:`box_masks`.
        partner (Tensor): (N,) long, from :func:`partners`.

    Returns:
        Tensor: The mixed copy, shaped like ``x``.
    """
    where = masks.unsqueeze(1) if x.dim() == 4 else masks
    return torch.where(where, x[partner], x)
