# Copyright (c) mmseg_sb contributors. All rights reserved.
from typing import Dict

from mmengine.model import BaseDataPreprocessor

from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptConfigType


@MODELS.register_module()
class MultiViewDataPreProcessor(BaseDataPreprocessor):
    """Runs MMSeg's data preprocessor on every view of a multi-view batch.

    A training batch of :class:`mmseg_sb.datasets.MultiView` samples holds,
    per view, a list with one entry per sample (None where the sample has no
    such view). Each view's present samples go through ``data_preprocessor``
    (normalisation, padding to the crop size, ``gt_sem_seg`` padded with
    255) on their own. A batch of plain samples (validation, test, the
    inference API) goes through ``data_preprocessor`` unchanged, so the model
    runs MMSeg's ``tools/test.py`` as an ``EncoderDecoder``. This is the
    shape of MMDetection 3.x's ``MultiBranchDataPreprocessor``.

    Args:
        data_preprocessor (dict): Config of the per-view preprocessor,
            usually MMSeg's ``SegDataPreProcessor``.
    """

    def __init__(self, data_preprocessor: ConfigType) -> None:
        super().__init__()
        self.data_preprocessor = MODELS.build(data_preprocessor)

    @classmethod
    def wrap_cfg(cls, cfg: OptConfigType) -> OptConfigType:
        """``cfg`` wrapped in this preprocessor's config, unless it is one
        already or None."""
        if cfg is None or cfg.get('type') == cls.__name__:
            return cfg
        return dict(type=cls.__name__, data_preprocessor=cfg)

    @classmethod
    def plain_cfg(cls, cfg: OptConfigType) -> OptConfigType:
        """The inverse of :meth:`wrap_cfg`: the wrapped preprocessor's
        config if ``cfg`` is this preprocessor's, else ``cfg``."""
        if cfg is not None and cfg.get('type') == cls.__name__:
            return cfg['data_preprocessor']
        return cfg

    def forward(self, data: dict, training: bool = False) -> dict:
        """Returns:
            dict: ``inputs`` and ``data_samples``, each a dict by view name
            of the stacked images (N, 3, H, W) and their samples, for a
            multi-view batch; the plain preprocessor's output otherwise.
        """
        if not isinstance(data['inputs'], dict):
            return self.data_preprocessor(data, training)
        inputs: Dict[str, object] = {}
        samples: Dict[str, object] = {}
        for view, view_inputs in data['inputs'].items():
            keep = [i for i, x in enumerate(view_inputs) if x is not None]
            if not keep:
                continue
            out = self.data_preprocessor(
                dict(
                    inputs=[view_inputs[i] for i in keep],
                    data_samples=[data['data_samples'][view][i]
                                  for i in keep]), training)
            inputs[view], samples[view] = out['inputs'], out['data_samples']
        return dict(inputs=inputs, data_samples=samples)

    # nn.Module.to() moves the inner preprocessor's buffers but not the
    # device it casts the data to; these keep the two in step.
    def to(self, *args, **kwargs) -> 'MultiViewDataPreProcessor':
        self.data_preprocessor.to(*args, **kwargs)
        return super().to(*args, **kwargs)

    def cuda(self, *args, **kwargs) -> 'MultiViewDataPreProcessor':
        self.data_preprocessor.cuda(*args, **kwargs)
        return super().cuda(*args, **kwargs)

    def cpu(self, *args, **kwargs) -> 'MultiViewDataPreProcessor':
        self.data_preprocessor.cpu(*args, **kwargs)
        return super().cpu(*args, **kwargs)
