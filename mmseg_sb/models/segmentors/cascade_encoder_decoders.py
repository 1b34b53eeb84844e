# Copyright (c) mmseg_sb contributors. All rights reserved.
"""The methods over MMSeg's ``CascadeEncoderDecoder`` (OCRNet, PointRend).

Each class is its one-head method with MMSeg's ``CascadeEncoderDecoder`` as
the plain base: that base builds the stages and runs inference and export
as MMSeg does, and the method reads the stages through
:meth:`SemiSegmentorMixin.decode_forward`,
:meth:`~SemiSegmentorMixin.decode_logits` and
:meth:`~SemiSegmentorMixin.decode_sup_losses`. The per-pixel logits the
method reads are the last stage's (OCRNet's OCR head). A stage that samples
points (PointRend's point head) has no per-pixel logits in training: the
method reads the logits of the stage before it (the FPN head), and the point
head is trained with its own loss on the labeled images and, by the Simple
Baseline, on the hard pseudo labels (UniMatch and FixMatch: labeled images
only). A config changes ``type='CascadeEncoderDecoder'`` to the class
here, as it changes ``EncoderDecoder`` to the one-head class.
"""
from mmseg.models.segmentors import CascadeEncoderDecoder
from mmseg.registry import MODELS
from .fixmatch_encoder_decoder import FixMatchEncoderDecoder
from .semi_supervised_encoder_decoder import SemiSupervisedEncoderDecoder
from .unimatch_encoder_decoder import UniMatchEncoderDecoder


@MODELS.register_module()
class SemiSupervisedCascadeEncoderDecoder(SemiSupervisedEncoderDecoder,
                                          CascadeEncoderDecoder):
    """:class:`SemiSupervisedEncoderDecoder` (the Simple Baseline) of a
    ``CascadeEncoderDecoder``; arguments of both."""

    plain_type = 'CascadeEncoderDecoder'


@MODELS.register_module()
class UniMatchCascadeEncoderDecoder(UniMatchEncoderDecoder,
                                    CascadeEncoderDecoder):
    """:class:`UniMatchEncoderDecoder` of a ``CascadeEncoderDecoder``;
    arguments of both."""

    plain_type = 'CascadeEncoderDecoder'


@MODELS.register_module()
class FixMatchCascadeEncoderDecoder(FixMatchEncoderDecoder,
                                    CascadeEncoderDecoder):
    """:class:`FixMatchEncoderDecoder` of a ``CascadeEncoderDecoder``;
    arguments of both."""

    plain_type = 'CascadeEncoderDecoder'
