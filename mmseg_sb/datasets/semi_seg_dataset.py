# Copyright (c) mmseg_sb contributors. All rights reserved.
import os.path as osp
from typing import Optional, Sequence, Union

from mmengine.dataset import BaseDataset, Compose, ConcatDataset

from mmseg.registry import DATASETS
from ..utils import (COMPLETE_MARKER, IS_PSEUDO, STRONG, VIEW, VIEWS, WEAK,
                     is_complete_round)


@DATASETS.register_module()
class SemiSegDataset(ConcatDataset):
    """A labeled and an unlabeled MMSeg dataset, each image in two views.

    Yuan et al., "A Simple Baseline for Semi-supervised Semantic Segmentation
    with Strong Data Augmentation", ICCV 2021. The ``num_images`` images are
    the labeled ones (``[0, num_labeled)``) then the unlabeled ones with
    their current pseudo labels. Each image can be read in two views: index
    ``i`` in ``[0, num_images)`` is image ``i`` through ``pipeline`` (the
    weak augmentation) and index ``num_images + i`` is the same image through
    ``strong_pipeline``; :class:`SemiSegSampler` chooses which views make up
    a batch. Every sample's metainfo carries ``is_pseudo`` (its kind of
    label) and ``view`` (``'weak'`` or ``'strong'``).

    Both parts are ordinary MMSeg datasets (e.g. :class:`CityscapesDataset`)
    without a pipeline of their own. The unlabeled part reads its labels
    from the folder given to :meth:`set_pseudo_label_dir` (by
    :class:`PseudoLabelHook`), in the same layout and with the same suffix as
    its ground truth; until then its samples cannot be read.

    Args:
        labeled (dict | BaseDataset): The labeled dataset (or its config).
        unlabeled (dict | BaseDataset): The unlabeled dataset (or its
            config). Its ``seg_map_path``, if any, is the ground truth of the
            unlabeled images, used only to measure pseudo-label quality.
        pipeline (list[dict]): The weak view's pipeline.
        strong_pipeline (list[dict]): The strong view's pipeline.
        lazy_init (bool): Whether to load the annotations lazily.
            Defaults to False.
    """

    def __init__(self,
                 labeled: Union[dict, BaseDataset],
                 unlabeled: Union[dict, BaseDataset],
                 pipeline: Sequence[dict],
                 strong_pipeline: Sequence[dict],
                 lazy_init: bool = False) -> None:
        labeled, unlabeled = (self._build_part(labeled, 'labeled'),
                              self._build_part(unlabeled, 'unlabeled'))
        #: Ground-truth folder of the unlabeled images ('' or None if none).
        self.unlabeled_gt_dir: Optional[str] = unlabeled.data_prefix.get(
            'seg_map_path')
        self.pseudo_label_dir: Optional[str] = None
        self.pipelines = {
            WEAK: Compose(pipeline),
            STRONG: Compose(strong_pipeline)
        }
        super().__init__([labeled, unlabeled], lazy_init=lazy_init)
        # No labels for the unlabeled part until a pseudo-label round exists.
        self._read_labels_from(None)

    @staticmethod
    def _build_part(dataset: Union[dict, BaseDataset],
                    part: str) -> BaseDataset:
        """Build a part lazily, so that :meth:`full_init` checks it first."""
        pipeline = dataset.pipeline.transforms if isinstance(
            dataset, BaseDataset) else dataset.get('pipeline')
        if pipeline:
            raise ValueError(
                f'SemiSegDataset: the {part} dataset has a pipeline of its '
                'own; remove it: SemiSegDataset runs each image through its '
                '`pipeline` (weak view) or `strong_pipeline` (strong view).')
        if isinstance(dataset, BaseDataset):
            return dataset
        data_root = dataset.get('data_root')
        if data_root and not osp.isdir(data_root):
            raise FileNotFoundError(
                f'SemiSegDataset: data_root {data_root} does not exist; '
                'prepare the data as README.md describes, or point '
                'data_root at it (--cfg-options train_dataloader.dataset.'
                'labeled.data_root=... and unlabeled.data_root=...).')
        return DATASETS.build(dict(dataset, lazy_init=True))

    @property
    def labeled_dataset(self) -> BaseDataset:
        return self.datasets[0]

    @property
    def unlabeled_dataset(self) -> BaseDataset:
        return self.datasets[1]

    @property
    def num_labeled(self) -> int:
        return len(self.labeled_dataset)

    @property
    def num_unlabeled(self) -> int:
        return len(self.unlabeled_dataset)

    @property
    def num_images(self) -> int:
        """Labeled plus unlabeled images (each has two views)."""
        return self.num_labeled + self.num_unlabeled

    @property
    def has_pseudo_labels(self) -> bool:
        return self.pseudo_label_dir is not None

    def full_init(self) -> None:
        """Load both parts and check that they are usable."""
        if self._fully_initialized:
            return
        for part, dataset in zip(('labeled', 'unlabeled'), self.datasets):
            if not dataset._fully_initialized and \
                    not dataset.load_data_list():
                raise ValueError(
                    f'SemiSegDataset: the {part} dataset is empty; check its '
                    f'data_root ({dataset.data_root}), data_prefix '
                    f'({dataset.data_prefix}) and ann_file '
                    f'({dataset.ann_file}).')
        super().full_init()

    def set_pseudo_label_dir(self, label_dir: Optional[str]) -> None:
        """Read the unlabeled images' labels from ``label_dir`` (or from
        nowhere if None).

        ``label_dir`` must hold a complete round (its marker, see
        :mod:`mmseg_sb.utils.label_round`); a partial one raises
        ``FileNotFoundError`` naming it, and nothing changes.
        """
        if label_dir is not None and not is_complete_round(label_dir):
            raise FileNotFoundError(
                f'Pseudo-label folder {label_dir} has no {COMPLETE_MARKER}, '
                'so its round is incomplete; relabel it (PseudoLabeler.'
                'label_round), or for labels made elsewhere write the marker '
                'with mmseg_sb.utils.mark_round_complete once all exist.')
        self._read_labels_from(label_dir)
        self.pseudo_label_dir = label_dir

    def _read_labels_from(self, label_dir: Optional[str]) -> None:
        """Reload the unlabeled part with its labels under ``label_dir``."""
        dataset = self.unlabeled_dataset
        dataset.data_prefix['seg_map_path'] = label_dir
        if dataset._fully_initialized:
            dataset._fully_initialized = False
            dataset.full_init()

    def __len__(self) -> int:
        """Two views of every image."""
        return 2 * super().__len__()

    def __getitem__(self, idx: int) -> dict:
        """The packed sample ``idx`` (see the class docstring for the index
        layout), with metainfo ``is_pseudo`` and ``view``."""
        if not self._fully_initialized:
            self.full_init()
        view, image = divmod(idx, self.num_images)
        if not 0 <= view <= 1:
            raise IndexError(f'SemiSegDataset index {idx} is outside '
                             f'[0, {len(self)}).')
        view = VIEWS[view]
        is_pseudo = image >= self.num_labeled
        if is_pseudo and not self.has_pseudo_labels:
            raise RuntimeError(
                f'SemiSegDataset: image {image} is unlabeled and no pseudo '
                'labels exist yet; train with PseudoLabelHook and '
                'SemiSegSampler, which only draw labeled samples until then.')
        data = self.pipelines[view](self.get_data_info(image))
        data['data_samples'].set_metainfo({IS_PSEUDO: is_pseudo, VIEW: view})
        return data
