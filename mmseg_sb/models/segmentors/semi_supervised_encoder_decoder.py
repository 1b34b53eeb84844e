# Copyright (c) mmseg_sb contributors. All rights reserved.
from typing import List, Tuple

import torch
import torch.nn as nn
from torch import Tensor

from mmseg.models.segmentors import EncoderDecoder
from mmseg.models.utils import resize
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptConfigType, SampleList, add_prefix
from ..layers import convert_to_dsbn, dsbn_modules, dsbn_split

#: Loss-key prefixes of the two kinds of sample.
SUP = 'sup'
UNSUP = 'unsup'
#: Metainfo key that marks a pseudo-labeled sample.
IS_PSEUDO = 'is_pseudo'


@MODELS.register_module()
class SemiSupervisedEncoderDecoder(EncoderDecoder):
    """EncoderDecoder trained on mixed batches of labeled and pseudo-labeled
    images.

    Yuan et al., "A Simple Baseline for Semi-supervised Semantic Segmentation
    with Strong Data Augmentation", ICCV 2021. A training batch is laid out as
    ``[labeled (weak) | pseudo-labeled (strong)]`` (see
    :class:`mmseg_sb.datasets.SemiSegSampler`); samples whose metainfo has
    ``is_pseudo=True`` come last. One forward pass runs over the whole batch,
    with every :class:`DSBN` layer splitting it at the labeled count. The
    decode and auxiliary heads compute MMSeg's own losses on the labeled
    samples; ``unsup_loss`` (the self-correction loss by default) is computed
    on the decode head's logits of the pseudo-labeled samples. Pseudo labels
    travel in ``gt_sem_seg``, like ground truth.

    Inference, ``slide``/``whole`` test modes, checkpoints, MMSeg's
    ``tools/test.py`` and inference API are those of :class:`EncoderDecoder`
    (DSBN layers use their ``main`` branch in eval mode).

    .. code:: text

     loss(): _num_sup() -> dsbn_split(num_sup) {
                 extract_feat() -> decode_head.forward()
                 -> auxiliary_head.forward() (optional) }
             -> _sup_loss(): decode_head.loss_by_feat()
                             -> auxiliary_head.loss_by_feat() (optional)
             -> _unsup_loss(): unsup_loss() (if pseudo samples)
     predict(), _forward(): as EncoderDecoder

    Args:
        semi_train_cfg (dict, optional): ``use_dsbn`` (bool, default True)
            converts every BatchNorm of the built model into a DSBN;
            ``unsup_weight`` (float, default 1.0) scales the unsupervised
            loss.
        unsup_loss (dict): Config of the loss on pseudo-labeled pixels.
            Defaults to ``dict(type='SelfCorrectionLoss')``.
        **kwargs: The arguments of :class:`EncoderDecoder`.
    """

    def __init__(self,
                 semi_train_cfg: OptConfigType = None,
                 unsup_loss: ConfigType = dict(type='SelfCorrectionLoss'),
                 **kwargs) -> None:
        super().__init__(**kwargs)
        semi_train_cfg = dict(semi_train_cfg or {})
        unknown = set(semi_train_cfg) - {'use_dsbn', 'unsup_weight'}
        if unknown:
            raise ValueError(
                f'semi_train_cfg got unknown keys {sorted(unknown)}; valid '
                "keys are 'use_dsbn' and 'unsup_weight'.")
        self.use_dsbn = bool(semi_train_cfg.get('use_dsbn', True))
        self.unsup_weight = float(semi_train_cfg.get('unsup_weight', 1.0))
        self.unsup_loss = MODELS.build(unsup_loss)
        if self.use_dsbn:
            convert_to_dsbn(self)
        # Whether DSBN's aux branch has seen pseudo-labeled samples; until
        # then it is refreshed from main when they first appear.
        self.register_buffer('dsbn_aux_trained', torch.tensor(False))

    def loss(self, inputs: Tensor, data_samples: SampleList) -> dict:
        """Losses of a batch ``[labeled | pseudo-labeled]``.

        Args:
            inputs (Tensor): Images of shape (N, C, H, W).
            data_samples (list[:obj:`SegDataSample`]): Samples with
                ``gt_sem_seg`` (ground truth or pseudo labels) and metainfo
                ``is_pseudo``.

        Returns:
            dict[str, Tensor]: Losses prefixed ``sup.`` and ``unsup.``.
        """
        num_sup = self._num_sup(data_samples)
        if num_sup < len(data_samples):
            self._start_aux_branch()
        with dsbn_split(self, num_sup):
            x = self.extract_feat(inputs)
            seg_logits = self.decode_head.forward(x)
            aux_logits = [
                head.forward(x) for _, head in self._auxiliary_heads()
            ]
        sup_samples, pseudo_samples = (data_samples[:num_sup],
                                       data_samples[num_sup:])
        losses = dict()
        if sup_samples:
            losses.update(
                add_prefix(
                    self._sup_loss(seg_logits[:num_sup],
                                   [a[:num_sup] for a in aux_logits],
                                   sup_samples), SUP))
        if pseudo_samples:
            losses.update(
                add_prefix(
                    self._unsup_loss(seg_logits[num_sup:], pseudo_samples),
                    UNSUP))
        return losses

    def _num_sup(self, data_samples: SampleList) -> int:
        """The number of labeled samples, which must all come first."""
        flags = [bool(s.metainfo.get(IS_PSEUDO, False)) for s in data_samples]
        num_sup = flags.count(False)
        if any(flags[:num_sup]):
            raise ValueError(
                f'{type(self).__name__} needs the labeled samples first in '
                f'the batch, got is_pseudo={flags}; use SemiSegSampler.')
        return num_sup

    def _start_aux_branch(self) -> None:
        """Copy DSBN main into aux the first time pseudo samples come."""
        if self.dsbn_aux_trained:
            return
        with torch.no_grad():
            for layer in dsbn_modules(self):
                layer.copy_main_to_aux()
        self.dsbn_aux_trained.fill_(True)

    def _auxiliary_heads(self) -> List[Tuple[str, nn.Module]]:
        """``(loss prefix, head)`` of every auxiliary head, named as
        EncoderDecoder names them."""
        if not self.with_auxiliary_head:
            return []
        if isinstance(self.auxiliary_head, nn.ModuleList):
            return [(f'aux_{i}', head)
                    for i, head in enumerate(self.auxiliary_head)]
        return [('aux', self.auxiliary_head)]

    def _sup_loss(self, seg_logits: Tensor, aux_logits: List[Tensor],
                  data_samples: SampleList) -> dict:
        """MMSeg's decode- and auxiliary-head losses on labeled samples."""
        losses = add_prefix(
            self.decode_head.loss_by_feat(seg_logits, data_samples), 'decode')
        for (prefix, head), logits in zip(self._auxiliary_heads(), aux_logits):
            losses.update(
                add_prefix(head.loss_by_feat(logits, data_samples), prefix))
        return losses

    def _unsup_loss(self, seg_logits: Tensor,
                    data_samples: SampleList) -> dict:
        """``unsup_loss`` on the decode head's logits of pseudo samples."""
        pseudo_labels = self.decode_head._stack_batch_gt(data_samples)
        seg_logits = resize(
            seg_logits,
            size=pseudo_labels.shape[2:],
            mode='bilinear',
            align_corners=self.align_corners)
        loss = self.unsup_loss(
            seg_logits,
            pseudo_labels.squeeze(1),
            ignore_index=self.decode_head.ignore_index)
        return {self.unsup_loss.loss_name: self.unsup_weight * loss}
