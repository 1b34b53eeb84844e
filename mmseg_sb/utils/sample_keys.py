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

#: Views of an online (UniMatch / FixMatch) batch: a labeled image (``SUP``),
#: and of each unlabeled image a weak view and up to two strong views. Every
#: multi-view sample carries all of them (None where absent).
SUP = 'sup'
STRONG_1 = 'strong_1'
STRONG_2 = 'strong_2'
ONLINE_VIEWS = (SUP, WEAK, STRONG_1, STRONG_2)
#: Metainfo key of a strong view: its CutMix box ``(y1, x1, y2, x2)`` in
#: pixels of the view, or None when the view is not mixed.
CUTMIX_BOX = 'cutmix_box'
