# Copyright (c) mmseg_sb contributors. All rights reserved.
from mmseg.models.segmentors import CascadeEncoderDecoder
from mmseg.registry import MODELS
from .semi_segmentor_mixin import CASCADE
from .unimatch_encoder_decoder import UniMatchEncoderDecoder

#: The defaults of ``semi_train_cfg``: one strong view, no feature stream,
#: loss ``(L_sup + L_strong_1) / 2``.
FIXMATCH_CFG = dict(
    conf_thresh=0.95,
    feature_dropout=0.,
    sup_weight=0.5,
    unsup_weight=dict(strong_1=0.5))


@MODELS.register_module()
class FixMatchEncoderDecoder(UniMatchEncoderDecoder):
    """FixMatch for segmentation: UniMatch with one strong view and without
    the feature-perturbation stream.

    Sohn et al., "FixMatch", NeurIPS 2020, in the form UniMatch (Yang et al.,
    CVPR 2023) uses as its baseline: the loss is ``(L_sup + L_strong_1) / 2``,
    the strong view CutMixed, pseudo labels from the weak view above
    ``conf_thresh``. See :class:`UniMatchEncoderDecoder` for the arguments;
    only the defaults of ``semi_train_cfg`` differ (:data:`FIXMATCH_CFG`).
    """

    method_name = 'FixMatch'
    default_semi_train_cfg = FIXMATCH_CFG


@MODELS.register_module()
class FixMatchCascadeEncoderDecoder(FixMatchEncoderDecoder,
                                    CascadeEncoderDecoder):
    """:class:`FixMatchEncoderDecoder` of MMSeg's ``CascadeEncoderDecoder``
    (OCRNet, PointRend); the arguments of both."""

    plain_type = CASCADE
