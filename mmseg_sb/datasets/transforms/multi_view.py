# Copyright (c) mmseg_sb contributors. All rights reserved.
import copy
from typing import Dict, List, Optional, Sequence

from mmcv.transforms import BaseTransform, Compose

from mmseg.registry import TRANSFORMS
from ...utils import VIEWS


@TRANSFORMS.register_module()
class MultiView(BaseTransform):
    """Packs several views of one image, each from its own pipeline.

    Every method of this package trains on views: the online methods
    (UniMatch, FixMatch) on a weak and one or two strong views of every
    unlabeled image, the Simple Baseline on a weak or a strong view of each
    image (one ``MultiView`` with a single view per source). The transforms
    before ``MultiView`` (loading, resize, crop, flip) are shared, so the
    views are pixel-aligned; each view then runs a copy of the results through
    its own pipeline, which ends with ``PackSegInputs``. Every sample carries
    all of ``all_views``, None where it has no such view (a labeled image has
    only ``'sup'``), so that a batch mixes labeled and unlabeled samples.
    This is the shape of MMDetection 3.x's ``MultiBranch``.

    Required Keys:

    - what the view pipelines require

    Added Keys:

    - inputs (dict[str, Tensor | None]): each view's packed image.
    - data_samples (dict[str, SegDataSample | None]): each view's sample.

    Args:
        views (dict[str, list[dict]]): The pipeline of each view, by name.
        all_views (Sequence[str]): The names every sample carries. Defaults
            to :data:`mmseg_sb.utils.VIEWS` (``'sup'``, ``'weak'``,
            ``'strong'``, ``'strong_1'``, ``'strong_2'``).
    """

    def __init__(self,
                 views: Dict[str, List[dict]],
                 all_views: Sequence[str] = VIEWS) -> None:
        unknown = sorted(set(views) - set(all_views))
        if not views or unknown:
            raise ValueError(
                f'MultiView views={sorted(views)} must be a non-empty subset '
                f'of all_views={list(all_views)}; unknown: {unknown}.')
        self.views = {name: Compose(p) for name, p in views.items()}
        self.all_views = tuple(all_views)

    def transform(self, results: dict) -> Optional[dict]:
        """Run every view's pipeline on its own copy of ``results``."""
        packed = dict(
            inputs=dict.fromkeys(self.all_views),
            data_samples=dict.fromkeys(self.all_views))
        for name, pipeline in self.views.items():
            out = pipeline(copy.deepcopy(results))
            if out is None:
                return None
            if 'data_samples' not in out:
                raise ValueError(f'MultiView: the pipeline of view {name!r} '
                                 'must end with PackSegInputs.')
            packed['inputs'][name] = out['inputs']
            packed['data_samples'][name] = out['data_samples']
        return packed

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(views={self.views}, '
                f'all_views={self.all_views})')
