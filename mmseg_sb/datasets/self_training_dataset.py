# Copyright (c) mmseg_sb contributors. All rights reserved.
import copy
from typing import List, Sequence

from mmengine.dataset import ConcatDataset

from mmseg.registry import DATASETS
from .pseudo_labeled_dataset import PseudoLabeledDataset


@DATASETS.register_module()
class SelfTrainingDataset(ConcatDataset):
    """A student round's images, labeled and pseudo-labeled, in each view.

    Yuan et al., "A Simple Baseline for Semi-supervised Semantic Segmentation
    with Strong Data Augmentation", ICCV 2021. MMEngine's ``ConcatDataset``
    of ``2 x len(views)`` parts, view by view: part ``2 v`` is the labeled
    dataset through ``views[v]``, part ``2 v + 1`` the unlabeled one (a
    :class:`PseudoLabeledDataset`) through it. With the usual weak and
    strong views the parts are ``[labeled weak, pseudo weak, labeled strong,
    pseudo strong]``, and :class:`MultiSourceSampler`'s ``sources`` choose
    the batch composition: ``[[0, 1], [2, 3]]`` draws each half from labeled
    and pseudo-labeled images together (the release), ``[[0], [3]]`` gives
    labeled weak | pseudo-labeled strong. Each view's pipeline ends with a
    :class:`MultiView` that names the view.

    :class:`SelfTrainingLoop` builds it anew for every student round, with
    the round's ``label_dir`` in ``unlabeled``; nothing changes in place.

    Args:
        labeled (dict): Config of the labeled MMSeg dataset, without a
            pipeline.
        unlabeled (dict): Config of a :class:`PseudoLabeledDataset` of the
            unlabeled images, without a pipeline.
        views (list[list[dict]]): The pipeline of each view.
        lazy_init (bool): Whether to load the image lists lazily. Defaults
            to False.
    """

    def __init__(self,
                 labeled: dict,
                 unlabeled: dict,
                 views: Sequence[List[dict]],
                 lazy_init: bool = False) -> None:
        for name, part in (('labeled', labeled), ('unlabeled', unlabeled)):
            if not isinstance(part, dict) or part.get('pipeline'):
                raise ValueError(
                    f'SelfTrainingDataset {name} must be a dataset config '
                    'without a pipeline (each view brings its own), got '
                    f'{part!r}.')
        if DATASETS.get(unlabeled.get('type')) is not PseudoLabeledDataset:
            raise TypeError(
                'SelfTrainingDataset unlabeled must be a PseudoLabeledDataset'
                f' config, got type {unlabeled.get("type")!r}; wrap it: '
                'dict(type="PseudoLabeledDataset", dataset=...).')
        if not views:
            raise ValueError('SelfTrainingDataset needs at least one view.')
        super().__init__([
            dict(copy.deepcopy(part), pipeline=copy.deepcopy(view))
            for view in views for part in (labeled, unlabeled)
        ],
                         lazy_init=lazy_init)
