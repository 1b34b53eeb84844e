# Copyright (c) mmseg_sb contributors. All rights reserved.
import copy
from typing import List, Optional

from mmengine.dataset import BaseDataset
from mmengine.fileio import join_path
from mmengine.utils import is_abs

from mmseg.registry import DATASETS
from ..utils import COMPLETE_MARKER, IS_PSEUDO, is_complete_round


@DATASETS.register_module()
class PseudoLabeledDataset(BaseDataset):
    """The unlabeled images of an MMSeg dataset with one round's pseudo
    labels.

    Yuan et al., "A Simple Baseline for Semi-supervised Semantic Segmentation
    with Strong Data Augmentation", ICCV 2021: each student round trains on
    the labels its teacher made. This wrapper builds ``dataset`` (an ordinary
    MMSeg dataset config with its pipeline, e.g. a weak or a strong view) with
    its ``seg_map_path`` pointed at ``label_dir``, a complete pseudo-label
    round in the dataset's own layout, and marks every sample ``is_pseudo``.
    Nothing is changed in place: :class:`SelfTrainingLoop` builds the
    student's loader anew for each round, with that round's folder.

    Without ``label_dir``, :attr:`dataset` holds the images without labels
    (what :class:`PseudoLabeler` labels) and no sample can be read.

    Args:
        dataset (dict): Config of the unlabeled dataset. Its
            ``data_prefix.seg_map_path``, if any, is the images' ground
            truth (:attr:`gt_dir`), used only to measure the pseudo labels.
        pipeline (list[dict], optional): The dataset's pipeline, if given
            here rather than in ``dataset``. Defaults to None.
        label_dir (str, optional): A complete pseudo-label round (see
            :mod:`mmseg_sb.utils.label_round`). Defaults to None.
        lazy_init (bool): Whether to load the image list lazily. Defaults
            to False.
    """

    def __init__(self,
                 dataset: dict,
                 pipeline: Optional[List[dict]] = None,
                 label_dir: Optional[str] = None,
                 lazy_init: bool = False) -> None:
        if not isinstance(dataset, dict):
            raise TypeError(
                'PseudoLabeledDataset needs the config of its dataset (a '
                f'dict), got {type(dataset).__name__}: each round builds it '
                'with that round\'s label folder.')
        if label_dir is not None and not is_complete_round(label_dir):
            raise FileNotFoundError(
                f'Pseudo-label folder {label_dir} has no {COMPLETE_MARKER}, '
                'so its round is incomplete; relabel it (PseudoLabeler.'
                'label_round), or for labels made elsewhere write the marker '
                'with mmseg_sb.utils.mark_round_complete once all exist.')
        prefix = dict(dataset.get('data_prefix') or {})
        gt_dir = prefix.pop('seg_map_path', None)
        data_root = dataset.get('data_root')
        if gt_dir and data_root and not is_abs(gt_dir):
            gt_dir = join_path(data_root, gt_dir)  # as BaseDataset joins it
        #: Ground-truth folder of the images (None if they have none).
        self.gt_dir: Optional[str] = gt_dir or None
        self.label_dir = label_dir
        if label_dir is not None:
            prefix['seg_map_path'] = label_dir
        dataset = dict(
            copy.deepcopy(dataset), data_prefix=prefix, lazy_init=True)
        if pipeline is not None:
            dataset['pipeline'] = pipeline
        self.dataset: BaseDataset = DATASETS.build(dataset)
        self._images_loaded = False
        super().__init__(metainfo=self.dataset.metainfo, lazy_init=True)
        if not lazy_init:
            self.full_init()

    def full_init(self) -> None:
        """Load the image list; an empty one is an error naming where it
        was looked for."""
        if self._images_loaded:
            return
        if not self.dataset.load_data_list():
            raise ValueError(
                'PseudoLabeledDataset: the unlabeled dataset is empty; check '
                f'its data_root ({self.dataset.data_root}), data_prefix '
                f'({self.dataset.data_prefix}) and ann_file '
                f'({self.dataset.ann_file}).')
        self.dataset.full_init()
        self._images_loaded = True

    def get_data_info(self, idx: int) -> dict:
        self.full_init()
        return self.dataset.get_data_info(idx)

    def __len__(self) -> int:
        self.full_init()
        return len(self.dataset)

    def __getitem__(self, idx: int) -> dict:
        """Sample ``idx`` through the dataset's pipeline, each of its views'
        ``data_samples`` marked ``is_pseudo``."""
        if self.label_dir is None:
            raise RuntimeError(
                'PseudoLabeledDataset has no label_dir, so its images have no '
                'labels to train on; SelfTrainingLoop builds it with each '
                "round's folder.")
        self.full_init()
        data = self.dataset[idx]
        samples = data['data_samples']
        for sample in (samples.values()
                       if isinstance(samples, dict) else [samples]):
            if sample is not None:
                sample.set_metainfo({IS_PSEUDO: True})
        return data
