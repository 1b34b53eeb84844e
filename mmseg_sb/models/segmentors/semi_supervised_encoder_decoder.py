# Copyright (c) mmseg_sb contributors. All rights reserved.
import logging
from collections import Counter
from typing import Dict, List, Tuple, Union

import torch
import torch.nn as nn
from mmengine.logging import print_log
from torch import Tensor

from mmseg.models.segmentors import CascadeEncoderDecoder, EncoderDecoder
from mmseg.models.utils import resize
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptConfigType, SampleList, add_prefix
from ...utils import IS_PSEUDO, STRONG, WEAK
from ..layers import DSBN, convert_to_dsbn, dsbn_modules, dsbn_split
from ..utils import (SUP_PREFIX, UNSUP_PREFIX, decode_stages,
                     reweight_loss_dict, samples_points, select_rows,
                     takes_samples)
from .semi_segmentor_mixin import CASCADE, SemiSegmentorMixin

#: The defaults of ``semi_train_cfg``.
SIMPLE_BASELINE_CFG = dict(use_dsbn=True, sup_weight=1.0, unsup_weight=1.0)


@MODELS.register_module()
class SemiSupervisedEncoderDecoder(SemiSegmentorMixin, EncoderDecoder):
    """EncoderDecoder trained on batches of labeled and pseudo-labeled
    images in a weak and a strong view.

    Yuan et al., "A Simple Baseline for Semi-supervised Semantic Segmentation
    with Strong Data Augmentation", ICCV 2021. A student's training batch has
    a ``'weak'`` and a ``'strong'`` view (see
    :class:`mmseg_sb.datasets.MultiView` and
    :class:`mmseg_sb.datasets.MultiSourceSampler`); each may hold labeled and
    pseudo-labeled samples (metainfo ``is_pseudo``) in any order. A plain
    batch (the teacher's, round 0) is all weak. One forward pass runs over
    ``[weak | strong]``, with every :class:`DSBN` layer splitting it at the
    boundary. The loss of each sample follows
    its kind, wherever it sits: the decode and auxiliary heads compute
    MMSeg's own losses on the labeled samples; ``unsup_loss`` (the
    self-correction loss by default) is computed on the decode head's logits
    of the pseudo-labeled samples. Pseudo labels travel in ``gt_sem_seg``,
    like ground truth. A head with several training outputs (DDRNet, PIDNet,
    DANet, EncNet, K-Net) gets its own ``loss_by_feat`` on all of them for
    the labeled samples, and ``unsup_loss`` on the logits its ``predict``
    uses (:func:`mmseg_sb.models.utils.train_logits`). A mask-classification
    head (Mask2Former) gives no per-pixel logits: it is trained with its own
    ``loss`` on the labeled samples and on the hard pseudo labels, in place
    of ``unsup_loss`` (logged when the model is built). So is a cascade
    stage that samples points (PointRend's point head), beside
    ``unsup_loss`` on the logits of the stage before it.

    Inference, ``slide``/``whole`` test modes, checkpoints, MMSeg's
    ``tools/test.py`` and inference API are those of :class:`EncoderDecoder`
    (DSBN layers use their ``main`` branch in eval mode); its plain form
    (see :class:`SemiSegmentorMixin`) is an ``EncoderDecoder`` with the
    ``main`` branches.

    .. code:: text

     loss(): _weak_then_strong() -> dsbn_split(num_weak) {
                 extract_feat()
                 -> _decode_losses(): decode_forward()
                    -> decode_sup_losses() (labeled samples)
                    -> _unsup_loss(): unsup_loss() (pseudo samples)
                    or, for a mask-classification head,
                    _mask_head_losses(): decode_head.loss() (each kind)
                 -> _aux_losses(): auxiliary_head.forward()
                    -> auxiliary_head.loss_by_feat() (labeled samples) }
             -> reweight_loss_dict(sup_weight, unsup_weight)
     predict(), _forward(): as EncoderDecoder

    Args:
        semi_train_cfg (dict, optional): The method's options, each with a
            default (:data:`SIMPLE_BASELINE_CFG`): ``use_dsbn`` (bool, True)
            converts every BatchNorm of the built model into a DSBN;
            ``sup_weight`` (float, 1.0) scales the losses of labeled
            samples and ``unsup_weight`` (float, 1.0) the loss of
            pseudo-labeled ones.
        unsup_loss (dict): Config of the loss on pseudo-labeled pixels.
            Defaults to ``dict(type='SelfCorrectionLoss')``.
        **kwargs: The arguments of :class:`EncoderDecoder`.
    """

    method_name = 'Simple Baseline'
    method_keys = ('semi_train_cfg', 'unsup_loss')
    default_semi_train_cfg = SIMPLE_BASELINE_CFG
    #: The buffer saying whether DSBN's aux branch has seen strong views;
    #: until then it is refreshed from main when they first appear.
    AUX_TRAINED = 'dsbn_aux_trained'
    extra_state_keys = (AUX_TRAINED, )
    teacher_optional_keys = (AUX_TRAINED, )
    trains_mask_heads = True

    def __init__(self,
                 semi_train_cfg: OptConfigType = None,
                 unsup_loss: ConfigType = dict(type='SelfCorrectionLoss'),
                 **kwargs) -> None:
        cfg = self.parse_semi_train_cfg(semi_train_cfg)
        if not isinstance(cfg['use_dsbn'], bool):
            raise TypeError(f'{type(self).__name__} semi_train_cfg use_dsbn='
                            f"{cfg['use_dsbn']!r} must be True or False.")
        for key in ('sup_weight', 'unsup_weight'):
            self.check_number(key, cfg[key])
        super().__init__(**kwargs)
        self.use_dsbn = cfg['use_dsbn']
        self.sup_weight = cfg['sup_weight']
        self.unsup_weight = cfg['unsup_weight']
        self.unsup_loss = MODELS.build(unsup_loss)
        #: Whether the decode head is a mask-classification head.
        self.mask_head = takes_samples(self.logits_head)
        if self.mask_head:
            print_log(
                f'{type(self).__name__}: {type(self.logits_head).__name__} '
                'gives class scores and masks, not per-pixel logits, so the '
                'pseudo-labeled images are trained with its own loss on the '
                'hard pseudo labels instead of '
                f'{type(self.unsup_loss).__name__}.',
                logger='current',
                level=logging.WARNING)
        for head in decode_stages(self):
            if samples_points(head):
                name = type(head).__name__
                print_log(
                    f'{type(self).__name__}: {name} samples points and gives '
                    'no per-pixel logits in training: '
                    f'{type(self.unsup_loss).__name__} reads the logits of '
                    f'the stage before it, and {name} is trained with its own '
                    'loss on the labeled images and on the hard pseudo '
                    'labels.',
                    logger='current')
        if self.use_dsbn:
            self._convert_to_dsbn()
        self.register_buffer(self.AUX_TRAINED, torch.tensor(False))

    def _convert_to_dsbn(self) -> None:
        """Make every BatchNorm (BN, SyncBN) a DSBN and log how many, per
        part of the model; other norm layers (LN, GN) stay as they are. A
        model without BatchNorm (e.g. a ViT) gets a warning: DSBN does
        nothing there."""
        convert_to_dsbn(self)
        counts = Counter(
            name.split('.')[0] for name, module in self.named_modules()
            if isinstance(module, DSBN))
        if not counts:
            print_log(
                f'{type(self).__name__}: use_dsbn=True, but the model has no '
                'BatchNorm layer, so DSBN changes nothing: weak and strong '
                'views share every norm layer. Set semi_train_cfg.use_dsbn='
                'False to say so.',
                logger='current',
                level=logging.WARNING)
            return
        print_log(
            f'{type(self).__name__}: {sum(counts.values())} BatchNorm layers '
            'made DSBN (' + ', '.join(f'{part} {n}'
                                      for part, n in counts.items()) +
            '); other norm layers are left as they are.',
            logger='current')

    def loss(self, inputs: Union[Tensor, Dict[str, Tensor]],
             data_samples: Union[SampleList, Dict[str, SampleList]]) -> dict:
        """Losses of a batch of weak and strong views.

        Args:
            inputs (Tensor | dict[str, Tensor]): Images (N, C, H, W), by
                view (``'weak'``, ``'strong'``) or all weak.
            data_samples (list[:obj:`SegDataSample`] | dict): Samples (by
                view, as ``inputs``) with ``gt_sem_seg`` (ground truth or
                pseudo labels) and metainfo ``is_pseudo`` (default False).

        Returns:
            dict[str, Tensor]: MMSeg's head losses prefixed ``sup.`` (e.g.
            ``sup.decode.loss_ce``, ``sup.aux.loss_ce``), if the batch has
            labeled samples, and ``unsup.<loss_name>`` (``unsup.loss_sc``),
            if it has pseudo-labeled ones; with a head trained by its own
            loss on pseudo labels, that loss too (``unsup.decode.*``,
            ``unsup.decode_1.pointloss_ce``).
        """
        inputs, data_samples, num_weak = self._weak_then_strong(
            inputs, data_samples)
        if num_weak < len(data_samples):
            self._start_aux_branch()
        is_pseudo = [
            bool(s.metainfo.get(IS_PSEUDO, False)) for s in data_samples
        ]
        sup = [i for i, pseudo in enumerate(is_pseudo) if not pseudo]
        pseudo = [i for i, pseudo in enumerate(is_pseudo) if pseudo]
        decode_losses = self._mask_head_losses if self.mask_head else \
            self._decode_losses
        with dsbn_split(self, num_weak):
            x = self.extract_feat(inputs)
            sup_losses, unsup_losses = decode_losses(x, data_samples, num_weak,
                                                     sup, pseudo)
            if sup:
                sup_losses.update(
                    self._aux_losses(x, sup, [data_samples[i] for i in sup]))
        losses = dict()
        if sup_losses:
            losses.update(
                add_prefix(
                    reweight_loss_dict(sup_losses, self.sup_weight),
                    SUP_PREFIX))
        if unsup_losses:
            losses.update(
                add_prefix(
                    reweight_loss_dict(unsup_losses, self.unsup_weight),
                    UNSUP_PREFIX))
        return losses

    def _decode_losses(self, x: List[Tensor], data_samples: SampleList,
                       num_weak: int, sup: List[int],
                       pseudo: List[int]) -> Tuple[dict, dict]:
        """One pass of the decode head (or a cascade's stages) over the
        batch: MMSeg's loss of the head (its own ``loss_by_feat`` on all its
        training outputs) on the labeled samples, ``unsup_loss`` on its
        logits of the pseudo-labeled ones."""
        outputs = self.decode_forward(x)
        # Read on every batch: a head without logits fails at the teacher's
        # first step, not at the first student batch.
        seg_logits = self.decode_logits(outputs)
        sup_losses, unsup_losses = dict(), dict()
        if sup:
            sup_losses = self.decode_sup_losses(x, outputs, sup,
                                                [data_samples[i] for i in sup])
        if pseudo:
            pseudo_samples = [data_samples[i] for i in pseudo]
            unsup_losses = self._unsup_loss(
                select_rows(seg_logits, pseudo), pseudo_samples)
            # A point head (PointRend) has no logits for unsup_loss: its
            # own loss on the hard pseudo labels, for the point head alone
            # (the features and logits it reads are trained by unsup_loss).
            unsup_losses.update(
                self.point_losses([f.detach() for f in x], seg_logits.detach(),
                                  pseudo, pseudo_samples))
        return sup_losses, unsup_losses

    def _mask_head_losses(self, x: List[Tensor], data_samples: SampleList,
                          num_weak: int, sup: List[int],
                          pseudo: List[int]) -> Tuple[dict, dict]:
        """A mask-classification head's own loss (``head.loss``, e.g.
        Mask2Former's matching of class scores and masks) on the labeled
        samples and, with the hard pseudo labels in ``gt_sem_seg``, on the
        pseudo-labeled ones: it gives no per-pixel logits for
        ``unsup_loss``. One head pass per kind of sample, each with its own
        DSBN split."""
        losses = []
        for rows in (sup, pseudo):
            if not rows:
                losses.append(dict())
                continue
            with dsbn_split(self, sum(i < num_weak for i in rows)):
                losses.append(
                    add_prefix(
                        self.decode_head.loss(
                            select_rows(x, rows),
                            [data_samples[i] for i in rows], self.train_cfg),
                        'decode'))
        return losses[0], losses[1]

    def _aux_losses(self, x: List[Tensor], sup: List[int],
                    data_samples: SampleList) -> dict:
        """MMSeg's auxiliary-head losses on the labeled samples ``sup``
        (each head's pass over the whole batch, for its BN)."""
        losses = dict()
        for prefix, head in self._auxiliary_heads():
            outputs = select_rows(head.forward(x), sup)
            losses.update(
                add_prefix(head.loss_by_feat(outputs, data_samples), prefix))
        return losses

    def _weak_then_strong(
        self, inputs: Union[Tensor, Dict[str, Tensor]],
        data_samples: Union[SampleList, Dict[str, SampleList]]
    ) -> Tuple[Tensor, SampleList, int]:
        """The batch as ``[weak | strong]`` and the number of weak samples,
        where DSBN splits it; a plain batch is all weak."""
        if not isinstance(inputs, dict):
            return inputs, data_samples, len(data_samples)
        views = [v for v in (WEAK, STRONG) if v in inputs]
        if not views or len(views) != len(inputs):
            raise ValueError(
                f'{type(self).__name__} trains on views {WEAK!r} and '
                f'{STRONG!r}, got {sorted(inputs)}; pack each source with '
                f'MultiView(views=dict({WEAK}=...)) or ({STRONG}=...).')
        samples = [s for v in views for s in data_samples[v]]
        if len(views) == 1:
            return inputs[views[0]], samples, len(data_samples.get(WEAK, []))
        return torch.cat([inputs[WEAK],
                          inputs[STRONG]]), samples, len(data_samples[WEAK])

    def _start_aux_branch(self) -> None:
        """Copy DSBN main into aux the first time strong views come."""
        aux_trained = getattr(self, self.AUX_TRAINED)
        if aux_trained:
            return
        with torch.no_grad():
            for layer in dsbn_modules(self):
                layer.copy_main_to_aux()
        aux_trained.fill_(True)

    def _auxiliary_heads(self) -> List[Tuple[str, nn.Module]]:
        """``(loss prefix, head)`` of every auxiliary head, named as
        EncoderDecoder names them."""
        if not self.with_auxiliary_head:
            return []
        if isinstance(self.auxiliary_head, nn.ModuleList):
            return [(f'aux_{i}', head)
                    for i, head in enumerate(self.auxiliary_head)]
        return [('aux', self.auxiliary_head)]

    def _unsup_loss(self, seg_logits: Tensor,
                    data_samples: SampleList) -> dict:
        """``unsup_loss`` on the decode head's logits of pseudo samples."""
        # Not decode_head._stack_batch_gt: PIDNet's adds its edge maps.
        pseudo_labels = torch.stack([s.gt_sem_seg.data for s in data_samples])
        seg_logits = resize(
            seg_logits,
            size=pseudo_labels.shape[2:],
            mode='bilinear',
            align_corners=self.logits_head.align_corners)
        loss = self.unsup_loss(
            seg_logits,
            pseudo_labels.squeeze(1),
            ignore_index=self.logits_head.ignore_index)
        return {self.unsup_loss.loss_name: loss}


@MODELS.register_module()
class SemiSupervisedCascadeEncoderDecoder(SemiSupervisedEncoderDecoder,
                                          CascadeEncoderDecoder):
    """:class:`SemiSupervisedEncoderDecoder` of MMSeg's
    ``CascadeEncoderDecoder`` (OCRNet, PointRend); the arguments of both.
    PointRend's point head is trained with its own loss on the labeled
    images and on the hard pseudo labels (see :class:`SemiSegmentorMixin`).
    """

    plain_type = CASCADE
