# Copyright (c) mmseg_sb contributors. All rights reserved.
import math
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmseg.models.losses.utils import weight_reduce_loss
from mmseg.registry import MODELS

#: Reductions of MMSeg's losses.
REDUCTIONS = ('none', 'mean', 'sum')


def self_correction_loss(pred: Tensor,
                         target: Tensor,
                         weight: Optional[Tensor] = None,
                         alpha: float = 1.0,
                         beta: float = 1.0,
                         conf_thresh: float = 0.8,
                         clamp: float = 1e-4,
                         ignore_index: int = 255,
                         reduction: str = 'mean',
                         avg_factor: Optional[float] = None,
                         avg_non_ignore: bool = False) -> Tensor:
    """The self-correction loss (SCL) of Yuan et al., ICCV 2021.

    For each pixel with pseudo label ``y`` and class probabilities ``p``::

        w   = max_c p_c, set to 1 where it exceeds ``conf_thresh`` (detached)
        CE  = -log p_y
        RCE = -sum_c p_c * log(clamp(onehot(y)_c, clamp, 1))
            = -log(clamp) * (1 - p_y)
        loss = alpha * mean((1 - w) * CE) + beta * mean(w * RCE)

    The means run over all pixels (ignored pixels count as zeros) unless
    ``avg_non_ignore``. Each pixel is weighted by its own confidence, and
    ignored pixels never reach an index op. Reduction as MMSeg's
    ``cross_entropy``: ``weight`` multiplies the per-pixel loss, then
    :func:`weight_reduce_loss` with ``reduction`` and ``avg_factor``.

    Args:
        pred (Tensor): Logits of shape (N, C, H, W).
        target (Tensor): Pseudo labels of shape (N, H, W), dtype long.
        weight (Tensor, optional): Per-pixel weight of shape (N, H, W), as
            MMSeg's pixel samplers give it. Defaults to None.
        alpha (float): Weight of the forward (CE) term. Defaults to 1.0.
        beta (float): Weight of the reverse (RCE) term. Defaults to 1.0.
        conf_thresh (float): Confidence above which a pixel gets only the
            reverse term. Defaults to 0.8.
        clamp (float): Lower clamp of the one-hot label inside the reverse
            term's log. Defaults to 1e-4.
        ignore_index (int): Label of ignored pixels. Defaults to 255.
        reduction (str): ``'none'``, ``'mean'`` or ``'sum'``.
            Defaults to ``'mean'``.
        avg_factor (float, optional): Divisor of the mean. Defaults to None.
        avg_non_ignore (bool): Average over non-ignored pixels only (when
            no ``avg_factor`` is given). Defaults to False, as MMSeg's
            CrossEntropyLoss.

    Returns:
        Tensor: The loss: a scalar, or (N, H, W) with ``reduction='none'``.
    """
    valid = target != ignore_index
    # Ignored pixels are pointed at class 0 and masked out afterwards.
    safe_target = torch.where(valid, target, torch.zeros_like(target))
    log_prob = F.log_softmax(pred.float(), dim=1)
    log_p_y = log_prob.gather(1, safe_target.unsqueeze(1)).squeeze(1)
    with torch.no_grad():
        # max_c p_c = exp(max_c log p_c): no (N, C, H, W) copy of the probs.
        conf = log_prob.amax(dim=1).exp()
        conf = torch.where(conf > conf_thresh, torch.ones_like(conf), conf)
    ce = -log_p_y
    rce = -math.log(clamp) * (1.0 - log_p_y.exp())
    loss = (alpha * (1.0 - conf) * ce + beta * conf * rce) * valid
    if avg_factor is None and avg_non_ignore and reduction == 'mean':
        avg_factor = valid.sum().clamp(min=1).item()
    if weight is not None:
        weight = weight.float()
    return weight_reduce_loss(
        loss, weight=weight, reduction=reduction, avg_factor=avg_factor)


@MODELS.register_module()
class SelfCorrectionLoss(nn.Module):
    """Self-correction loss for pseudo-labeled pixels.

    Yuan et al., "A Simple Baseline for Semi-supervised Semantic Segmentation
    with Strong Data Augmentation", ICCV 2021, section 3.3. A confidence-
    weighted sum of cross-entropy and a bounded reverse cross-entropy: pixels
    the network is confident about (max probability above ``conf_thresh``)
    get only the reverse term, so the network is not forced to fit a pseudo
    label it confidently disagrees with. See :func:`self_correction_loss`.

    Args:
        alpha (float): Weight of the forward (CE) term. Defaults to 1.0.
        beta (float): Weight of the reverse (RCE) term. Defaults to 1.0.
        conf_thresh (float): Confidence threshold in (0, 1]. Defaults to 0.8.
        clamp (float): Lower clamp of the one-hot label in (0, 1).
            Defaults to 1e-4.
        reduction (str): ``'none'``, ``'mean'`` or ``'sum'``.
            Defaults to ``'mean'``.
        loss_weight (float): Weight of the loss. Defaults to 1.0.
        avg_non_ignore (bool): Average over non-ignored pixels only.
            Defaults to False.
        loss_name (str): Name of the loss item; it must start with ``loss_``
            to be back-propagated. Defaults to 'loss_sc'.
    """

    def __init__(self,
                 alpha: float = 1.0,
                 beta: float = 1.0,
                 conf_thresh: float = 0.8,
                 clamp: float = 1e-4,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0,
                 avg_non_ignore: bool = False,
                 loss_name: str = 'loss_sc') -> None:
        super().__init__()
        if not 0 < conf_thresh <= 1:
            raise ValueError(f'SelfCorrectionLoss conf_thresh={conf_thresh} '
                             'must be in (0, 1] (the paper uses 0.8).')
        if not 0 < clamp < 1:
            raise ValueError(f'SelfCorrectionLoss clamp={clamp} must be in '
                             '(0, 1) (the paper uses 1e-4).')
        if reduction not in REDUCTIONS:
            raise ValueError(f'SelfCorrectionLoss reduction={reduction!r} '
                             f'must be one of {REDUCTIONS}.')
        self.alpha = alpha
        self.beta = beta
        self.conf_thresh = conf_thresh
        self.clamp = clamp
        self.reduction = reduction
        self.loss_weight = loss_weight
        self.avg_non_ignore = avg_non_ignore
        self._loss_name = loss_name

    def extra_repr(self) -> str:
        """The loss's settings, printed with the model."""
        return (f'alpha={self.alpha}, beta={self.beta}, '
                f'conf_thresh={self.conf_thresh}, clamp={self.clamp}, '
                f'reduction={self.reduction}, '
                f'avg_non_ignore={self.avg_non_ignore}')

    def forward(self,
                pred: Tensor,
                target: Tensor,
                weight: Optional[Tensor] = None,
                avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None,
                ignore_index: int = 255,
                **kwargs) -> Tensor:
        """Compute the loss.

        Args:
            pred (Tensor): Logits of shape (N, C, H, W).
            target (Tensor): Pseudo labels of shape (N, H, W), dtype long.
            weight (Tensor, optional): Per-pixel weight of shape (N, H, W).
                Defaults to None.
            avg_factor (float, optional): Divisor of the mean. Defaults to
                None.
            reduction_override (str, optional): Overrides ``reduction``.
                Defaults to None.
            ignore_index (int): Label of ignored pixels. Defaults to 255.

        Returns:
            Tensor: The loss times ``loss_weight``.
        """
        if reduction_override not in (None, ) + REDUCTIONS:
            raise ValueError(f'SelfCorrectionLoss reduction_override='
                             f'{reduction_override!r} must be None or one of '
                             f'{REDUCTIONS}.')
        return self.loss_weight * self_correction_loss(
            pred,
            target,
            weight,
            alpha=self.alpha,
            beta=self.beta,
            conf_thresh=self.conf_thresh,
            clamp=self.clamp,
            ignore_index=ignore_index,
            reduction=reduction_override or self.reduction,
            avg_factor=avg_factor,
            avg_non_ignore=self.avg_non_ignore)

    @property
    def loss_name(self) -> str:
        """Name of the loss item, as MMSeg's losses expose it."""
        return self._loss_name
