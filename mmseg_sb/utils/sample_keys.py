# Copyright (c) mmseg_sb contributors. All rights reserved.
"""Metainfo keys that a semi-supervised sample carries, defined once.

:class:`mmseg_sb.datasets.SemiSegDataset` sets them on every sample's
``data_samples``; :class:`mmseg_sb.models.SemiSupervisedEncoderDecoder`
reads them to split the batch (DSBN at the weak/strong boundary) and to pick
each sample's loss (ground truth or pseudo label).
"""
#: Metainfo key: True for a pseudo-labeled sample, False for ground truth.
IS_PSEUDO = 'is_pseudo'
#: Metainfo key: which augmentation the sample went through.
VIEW = 'view'
#: Values of :data:`VIEW`.
WEAK = 'weak'
STRONG = 'strong'
VIEWS = (WEAK, STRONG)
