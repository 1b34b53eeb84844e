# Copyright (c) mmseg_sb contributors. All rights reserved.
from typing import Dict, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.logging import print_log
from torch import Tensor

from mmseg.models.segmentors import CascadeEncoderDecoder, EncoderDecoder
from mmseg.models.utils import resize
from mmseg.registry import MODELS
from mmseg.utils import OptConfigType, SampleList, add_prefix
from ...utils import CUTMIX_BOX, STRONG_1, STRONG_2, SUP, WEAK
from ..utils import (SUP_PREFIX, UNSUP_PREFIX, box_masks, cutmix,
                     decode_stages, partners, reweight_loss_dict,
                     samples_points, select_rows)
from ..utils.head_outputs import Outputs
from .semi_segmentor_mixin import CASCADE, SemiSegmentorMixin

#: The strong views, each an unsupervised term named after its view.
STRONG_VIEWS = (STRONG_1, STRONG_2)
#: The unsupervised term of the feature-perturbation stream.
FP = 'fp'
#: The defaults of ``semi_train_cfg``: the paper's threshold, dropout and
#: loss ``(L_sup + 0.25 L_strong_1 + 0.25 L_strong_2 + 0.5 L_fp) / 2``.
UNIMATCH_CFG = dict(
    conf_thresh=0.95,
    feature_dropout=0.5,
    sup_weight=0.5,
    unsup_weight=dict(strong_1=0.125, strong_2=0.125, fp=0.25))


@MODELS.register_module()
class UniMatchEncoderDecoder(SemiSegmentorMixin, EncoderDecoder):
    """EncoderDecoder trained online with weak-to-strong consistency.

    Yang et al., "Revisiting Weak-to-Strong Consistency in Semi-Supervised
    Semantic Segmentation", CVPR 2023 (UniMatch). Every step sees labeled
    images (view ``sup``) and, of each unlabeled image, a weak view and one
    or two strong views (see :class:`mmseg_sb.datasets.MultiView`):

    - one forward pass over ``sup`` and ``weak``: MMSeg's own decode-head
      loss on ``sup`` (OHEM if the head has a sampler); the weak view's
      detached softmax gives the pseudo label (argmax) and its confidence;
    - feature perturbation: the same pass also decodes the weak view's
      encoder features after channel dropout (``Dropout2d(feature_dropout)``,
      training only), supervised by the pseudo label;
    - each strong view, CutMixed in its box (metainfo ``cutmix_box``) with
      the next unlabeled image of the batch, whose pseudo label, confidence
      and valid pixels move with it, is supervised by the mixed pseudo label.

    An unsupervised loss is the cross-entropy at pixels with confidence at
    least ``conf_thresh``, summed and divided by the number of valid
    (unpadded) pixels. The loss is ``sup_weight * L_sup + sum_t
    unsup_weight[t] * L_t`` over the unsupervised terms ``t`` (``strong_1``,
    ``strong_2``, ``fp``); the defaults are the paper's
    ``(L_sup + 0.25 L_strong_1 + 0.25 L_strong_2 + 0.5 L_fp) / 2``. FixMatch
    is one strong view without the feature stream
    (:class:`FixMatchEncoderDecoder`).

    Two differences from the authors' release: the CutMix partner is the
    next image of the same unlabeled batch (its pseudo label from the same
    training-mode pass) instead of a second unlabeled batch labeled in eval
    mode, which saves a forward pass; and the encoder is MMSeg's, so
    DeepLabV3+ R101-D8 runs at output stride 8, not 16.

    The model's data preprocessor is wrapped in a
    :class:`MultiViewDataPreProcessor`. Inference, checkpoints (the same keys)
    and ``tools/test.py`` are those of :class:`EncoderDecoder`, its plain
    form (see :class:`SemiSegmentorMixin`).

    .. code:: text

     loss(): _check_views()
             -> _sup_weak_forward(): extract_feat(sup + weak)
                -> decode_forward([feats, dropout(weak feats)])
             -> decode_sup_losses(sup)
             -> _auxiliary_head_forward_train(sup feats), if any
             -> _pseudo_labels(weak) -> _unsup_loss(fp)
             -> _strong_losses(): _mix(strong_k)
                -> extract_feat(strong views) -> decode_forward()
                -> _unsup_loss(strong_k)
             -> reweight_loss_dict(sup_weight, unsup_weight)
     predict(), _forward(): as EncoderDecoder

    Args:
        semi_train_cfg (dict, optional): Options over :data:`UNIMATCH_CFG`
            (the paper's): ``conf_thresh`` in (0, 1], ``feature_dropout`` in
            [0, 1), ``sup_weight`` and ``unsup_weight``, a weight per term:
            ``strong_1``, optionally ``strong_2`` (a second strong view) and
            ``fp`` (the feature stream; 0 or absent turns it off).
        **kwargs: The other arguments of :class:`EncoderDecoder`.
    """

    method_name = 'UniMatch'
    default_semi_train_cfg = UNIMATCH_CFG

    def __init__(self, semi_train_cfg: OptConfigType = None, **kwargs) -> None:
        cfg = self.parse_semi_train_cfg(semi_train_cfg)
        self._check_semi_train_cfg(cfg)
        super().__init__(**kwargs)
        self.conf_thresh = cfg['conf_thresh']
        self.feature_dropout = cfg['feature_dropout']
        self.sup_weight = cfg['sup_weight']
        self.unsup_weight = dict(cfg['unsup_weight'])
        self.strong_views = tuple(v for v in STRONG_VIEWS
                                  if v in self.unsup_weight)
        for head in decode_stages(self):
            if samples_points(head):
                print_log(
                    f'{type(self).__name__}: {type(head).__name__} samples '
                    'points and gives no per-pixel logits in training: the '
                    'pseudo labels and their confidences come from the stage '
                    f'before it, and {type(head).__name__} is trained on the '
                    'labeled images only.',
                    logger='current')

    @classmethod
    def _check_semi_train_cfg(cls, cfg: dict) -> None:
        """A ``TypeError`` or ``ValueError`` naming the bad option."""
        dropout = cfg['feature_dropout']
        cls.check_number(
            'conf_thresh',
            cfg['conf_thresh'],
            high=1.,
            open_low=True,
            open_high=False,
            hint="; 0.95 is the paper's value")
        cls.check_number('feature_dropout', dropout, high=1.)
        cls.check_number('sup_weight', cfg['sup_weight'])
        weights = cfg['unsup_weight']
        cls.check_term_weights('unsup_weight', weights, STRONG_VIEWS + (FP, ),
                               (STRONG_1, ), UNIMATCH_CFG['unsup_weight'])
        if weights.get(FP, 0) > 0 and dropout == 0:
            raise ValueError(
                f'{cls.__name__} semi_train_cfg unsup_weight {FP}='
                f'{weights[FP]} needs feature_dropout > 0 (the paper: 0.5); '
                'or set it to 0.')

    @property
    def use_fp(self) -> bool:
        """Whether the feature-perturbation stream is trained."""
        return self.unsup_weight.get(FP, 0) > 0

    def loss(self, inputs: Dict[str, Tensor],
             data_samples: Dict[str, SampleList]) -> Dict[str, Tensor]:
        """The weighted supervised, strong-view and feature-stream losses.

        Args:
            inputs (dict[str, Tensor]): Images (N, 3, H, W) by view.
            data_samples (dict[str, list[SegDataSample]]): Samples by view;
                ``sup`` ones carry ``gt_sem_seg``, strong ones
                ``cutmix_box``.

        Returns:
            dict[str, Tensor]: ``sup.decode.loss_ce`` (and MMSeg's other
            keys), ``unsup.loss_fp``, ``unsup.loss_strong_1``
            (``unsup.loss_strong_2``) and the logged (not summed)
            ``unsup.mask_ratio``, the share of valid weak-view pixels above
            the threshold.
        """
        self._check_views(inputs)
        sup_feats, sup_outputs, weak_logits, fp_logits = \
            self._sup_weak_forward(inputs[SUP], inputs[WEAK])
        sup = self.decode_sup_losses(sup_feats, sup_outputs,
                                     range(len(inputs[SUP])),
                                     data_samples[SUP])
        if self.with_auxiliary_head:  # on labeled images, as MMSeg trains
            sup.update(
                self._auxiliary_head_forward_train(sup_feats,
                                                   data_samples[SUP]))
        size = inputs[WEAK].shape[-2:]
        pseudo, conf = self._pseudo_labels(weak_logits, size)
        valid = self._valid_pixels(data_samples[WEAK], size, pseudo.device)
        unsup = dict()
        if self.use_fp:
            unsup[f'loss_{FP}'] = self._unsup_loss(
                self._upsample(fp_logits, size), pseudo, conf, valid)
        unsup.update(
            self._strong_losses(inputs, data_samples, pseudo, conf, valid))
        unsup['mask_ratio'] = ((conf >= self.conf_thresh) & valid).sum() / \
            valid.sum().clamp(min=1)
        losses = add_prefix(
            reweight_loss_dict(sup, self.sup_weight), SUP_PREFIX)
        losses.update(
            add_prefix(
                reweight_loss_dict(unsup, self.unsup_weight), UNSUP_PREFIX))
        return losses

    def _strong_losses(self, inputs: Dict[str, Tensor],
                       data_samples: Dict[str, SampleList], pseudo: Tensor,
                       conf: Tensor, valid: Tensor) -> Dict[str, Tensor]:
        """``loss_<view>`` of every strong view, CutMixed with its targets,
        all views in one pass."""
        mixed = [
            self._mix(inputs[view], data_samples[view], pseudo, conf, valid)
            for view in self.strong_views
        ]
        strong_logits = self._upsample(
            self.decode_logits(
                self.decode_forward(
                    self.extract_feat(torch.cat([m[0] for m in mixed])))),
            pseudo.shape[-2:])
        losses = dict()
        for view, logits, (_, target, target_conf, target_valid) in zip(
                self.strong_views, strong_logits.split(len(pseudo)), mixed):
            losses[f'loss_{view}'] = self._unsup_loss(logits, target,
                                                      target_conf,
                                                      target_valid)
        return losses

    def _check_views(self, inputs: Dict[str, Tensor]) -> None:
        """A ``ValueError`` naming the missing views of a training batch."""
        if not isinstance(inputs, dict):
            raise ValueError(
                f'{type(self).__name__} trains on multi-view batches; got '
                f'{type(inputs).__name__} inputs. Pack the training samples '
                'with MultiView and use MultiViewDataPreProcessor.')
        needed = (SUP, WEAK) + self.strong_views
        missing = [v for v in needed if v not in inputs]
        if missing:
            raise ValueError(
                f'{type(self).__name__}: the batch has no {missing} views '
                f'(it has {sorted(inputs)}); every batch needs labeled '
                '(sup) and unlabeled samples in views '
                f'{list(needed[1:])}: a ConcatDataset of both with '
                'MultiSourceSampler, and MultiView in each pipeline.')
        sizes = {v: len(inputs[v]) for v in needed[1:]}
        if len(set(sizes.values())) != 1:
            raise ValueError(f'{type(self).__name__}: the unlabeled views '
                             f'differ in size {sizes}.')

    def _sup_weak_forward(
        self, sup: Tensor, weak: Tensor
    ) -> Tuple[Sequence[Tensor], Outputs, Tensor, Optional[Tensor]]:
        """One pass over ``sup`` and ``weak``, plus the weak view's dropped
        features through the decode head in the same call (as one batch).

        Returns:
            tuple: The encoder features of sup (for the auxiliary heads),
            the decode head's training outputs of sup (what its
            ``loss_by_feat`` reads), and its logits of weak and (with the
            feature stream) of the perturbed weak features, at head
            resolution.
        """
        feats = self.extract_feat(torch.cat([sup, weak]))
        num_sup, num_weak = len(sup), len(weak)
        sup_feats = select_rows(feats, range(num_sup))
        if self.use_fp:
            feats = [torch.cat([f, self._drop(f[num_sup:])]) for f in feats]
        outputs = self.decode_forward(feats)
        logits = self.decode_logits(outputs)[num_sup:].split(num_weak)
        return (sup_feats, select_rows(outputs, range(num_sup)), logits[0],
                logits[1] if self.use_fp else None)

    def _drop(self, feature: Tensor) -> Tensor:
        """Channel dropout of the feature stream, only in training."""
        return F.dropout2d(feature, self.feature_dropout, self.training)

    def _upsample(self, logits: Tensor, size: Tuple[int, int]) -> Tensor:
        return resize(
            logits,
            size,
            mode='bilinear',
            align_corners=self.logits_head.align_corners)

    @torch.no_grad()
    def _pseudo_labels(self, weak_logits: Tensor,
                       size: Tuple[int, int]) -> Tuple[Tensor, Tensor]:
        """The argmax (N, H, W) long and max softmax (N, H, W) float32 of
        the weak view's logits at input resolution, without gradient.

        Float32 also under autocast (AMP), where the logits are bf16 or
        fp16: CPU autocast runs softmax in bf16, which would round the
        confidence by up to 2**-9 of its value (0.002 at 0.95) before the
        threshold compares it.
        """
        conf, pseudo = self._upsample(weak_logits.detach().float(),
                                      size).softmax(dim=1).max(dim=1)
        return pseudo, conf

    @staticmethod
    def _valid_pixels(samples: SampleList, size: Tuple[int, int],
                      device: torch.device) -> Tensor:
        """(N, H, W) bool: the pixels of each image before batch padding."""
        valid = torch.zeros(
            len(samples), *size, dtype=torch.bool, device=device)
        for mask, sample in zip(valid, samples):
            h, w = sample.img_shape[:2]
            mask[:h, :w] = True
        return valid

    def _mix(self, images: Tensor, samples: SampleList, pseudo: Tensor,
             conf: Tensor, valid: Tensor) -> Tuple[Tensor, ...]:
        """A strong view and its targets, CutMixed with the next image of
        the batch in each sample's ``cutmix_box``."""
        masks = box_masks([s.metainfo.get(CUTMIX_BOX) for s in samples],
                          images.shape[-2:], images.device)
        partner = partners(len(images), images.device)
        return tuple(
            cutmix(x, masks, partner) for x in (images, pseudo, conf, valid))

    def _unsup_loss(self, logits: Tensor, target: Tensor, conf: Tensor,
                    valid: Tensor) -> Tensor:
        """Cross-entropy at confident valid pixels, divided by the number of
        valid pixels."""
        loss = F.cross_entropy(logits, target, reduction='none')
        loss = loss * ((conf >= self.conf_thresh) & valid)
        return loss.sum() / valid.sum().clamp(min=1)


@MODELS.register_module()
class UniMatchCascadeEncoderDecoder(UniMatchEncoderDecoder,
                                    CascadeEncoderDecoder):
    """:class:`UniMatchEncoderDecoder` of MMSeg's ``CascadeEncoderDecoder``
    (OCRNet, PointRend); the arguments of both. PointRend's point head is
    trained on the labeled images only (see :class:`SemiSegmentorMixin`).
    """

    plain_type = CASCADE
