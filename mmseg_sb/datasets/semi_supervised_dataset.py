# Copyright (c) mmseg_sb contributors. All rights reserved.
import copy
from typing import List, Optional, Sequence

from mmengine.dataset import ConcatDataset

from mmseg.registry import DATASETS
from .file_check import naming_file


@DATASETS.register_module()
class SemiSupervisedDataset(ConcatDataset):
    """The labeled and the unlabeled images of a semi-supervised run, as the
    parts of MMEngine's ``ConcatDataset`` that :class:`MultiSourceSampler`
    draws its sources from.

    Without ``views`` the parts are ``[labeled, unlabeled]``, each through
    its own pipeline: the online methods (UniMatch, FixMatch), whose
    unlabeled pipeline packs a weak and strong views of each image with
    :class:`MultiView`. With ``views`` both go through each view's pipeline,
    view by view: part ``2 v`` is the labeled images in ``views[v]`` and
    part ``2 v + 1`` the unlabeled ones. This is the Simple Baseline's
    student batch (Yuan et al., ICCV 2021), whose unlabeled part is a
    :class:`PseudoLabeledDataset`: with a weak and a strong view the parts
    are ``[labeled weak, pseudo weak, labeled strong, pseudo strong]``, and
    ``MultiSourceSampler(sources=[[0, 1], [2, 3]])`` draws each half from
    labeled and pseudo-labeled images together (the release), ``[[0], [3]]``
    labeled weak | pseudo-labeled strong.

    The parts are given by name, so a config that changes the split
    overrides ``labeled`` and ``unlabeled`` by key. An error of reading a
    sample names its files.

    Args:
        labeled (dict): Config of the labeled dataset.
        unlabeled (dict): Config of the unlabeled dataset.
        views (list[list[dict]], optional): The pipeline of each view, each
            ending with a :class:`MultiView` that names the view; the parts
            then have no pipeline of their own. Defaults to None.
        lazy_init (bool): Whether to load the image lists lazily. Defaults
            to False.
    """

    def __init__(self,
                 labeled: dict,
                 unlabeled: dict,
                 views: Optional[Sequence[List[dict]]] = None,
                 lazy_init: bool = False) -> None:
        for name, part in (('labeled', labeled), ('unlabeled', unlabeled)):
            if not isinstance(part, dict):
                raise TypeError(f'SemiSupervisedDataset {name} must be a '
                                f'dataset config, got {part!r}.')
            if views is not None and part.get('pipeline'):
                raise ValueError(
                    f'SemiSupervisedDataset {name} has a pipeline of its own '
                    'and views are given; remove it: each view brings its '
                    'own pipeline.')
        if views is None:
            parts = [labeled, unlabeled]
        elif not views:
            raise ValueError('SemiSupervisedDataset views must not be empty.')
        else:
            parts = [
                dict(part, pipeline=view) for view in views
                for part in (labeled, unlabeled)
            ]
        super().__init__(copy.deepcopy(parts), lazy_init=lazy_init)

    def __getitem__(self, idx: int) -> dict:
        """The sample ``idx`` of its part; an error names its files."""
        with naming_file(self.get_data_info(idx)):
            return super().__getitem__(idx)
