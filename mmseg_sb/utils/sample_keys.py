# Copyright (c) mmseg_sb contributors. All rights reserved.
"""Names that a semi-supervised sample carries, defined once.

Every method trains on batches of views (:class:`mmseg_sb.datasets.MultiView`
packs them, :class:`mmseg_sb.models.MultiViewDataPreProcessor` stacks them
by name). :class:`mmseg_sb.datasets.PseudoLabeledDataset` marks its samples
``is_pseudo``, which :class:`mmseg_sb.models.SemiSupervisedEncoderDecoder`
reads to pick each sample's loss (ground truth or pseudo label).
"""
#: Metainfo key: True for a pseudo-labeled sample, False for ground truth.
IS_PSEUDO = 'is_pseudo'

#: View names. A labeled image in the online methods (``SUP``); the weak and
#: strong views of the Simple Baseline (labeled or pseudo-labeled images);
#: the weak and up to two strong views of an unlabeled image in the online
#: methods. A multi-view sample carries all of them (None where absent).
SUP = 'sup'
WEAK = 'weak'
STRONG = 'strong'
STRONG_1 = 'strong_1'
STRONG_2 = 'strong_2'
VIEWS = (SUP, WEAK, STRONG, STRONG_1, STRONG_2)
#: Metainfo key of a strong view: its CutMix box ``(y1, x1, y2, x2)`` in
#: pixels of the view, or None when the view is not mixed.
CUTMIX_BOX = 'cutmix_box'
