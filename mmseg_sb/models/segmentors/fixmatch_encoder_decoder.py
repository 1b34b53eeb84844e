# Copyright (c) mmseg_sb contributors. All rights reserved.
from mmseg.registry import MODELS
from .unimatch_encoder_decoder import UniMatchEncoderDecoder

#: FixMatch's weights: (sup + s) / 2.
FIXMATCH_WEIGHTS = dict(sup=0.5, strong=(0.5, ), fp=0.)


@MODELS.register_module()
class FixMatchEncoderDecoder(UniMatchEncoderDecoder):
    """FixMatch for segmentation: UniMatch with one strong view and without
    the feature-perturbation stream.

    Sohn et al., "FixMatch", NeurIPS 2020, in the form UniMatch (Yang et al.,
    CVPR 2023) uses as its baseline: the loss is ``(L_sup + L_strong) / 2``,
    the strong view CutMixed, pseudo labels from the weak view above
    ``conf_thresh``. See :class:`UniMatchEncoderDecoder` for the arguments.
    """

    def __init__(self,
                 loss_weights: dict = FIXMATCH_WEIGHTS,
                 feature_dropout: float = 0.,
                 **kwargs) -> None:
        super().__init__(
            loss_weights=loss_weights,
            feature_dropout=feature_dropout,
            **kwargs)
