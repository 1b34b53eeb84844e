# Copyright (c) mmseg_sb contributors. All rights reserved.
import os
import os.path as osp
import shutil
import time
from typing import Dict, List, Optional, Sequence

import cv2
import numpy as np
import torch
import torch.nn as nn
from mmcv.transforms import Compose
from mmengine.dataset import BaseDataset
from mmengine.dist import (all_reduce, barrier, broadcast_object_list,
                           get_dist_info, is_main_process)
from mmengine.evaluator import Evaluator
from mmengine.logging import print_log
from mmengine.runner import Runner
from mmengine.structures import PixelData
from torch.utils.data import Dataset

from mmseg.models import SegTTAModel
from mmseg.structures import SegDataSample
from ..datasets.file_check import naming_file
from ..evaluation import PseudoLabelMetric
from ..evaluation.metrics import relative_label_path
from ..utils.label_round import (COMPLETE_MARKER, LabelProvenance,
                                 is_complete_round, label_encoding,
                                 mark_round_complete, paths_hash,
                                 read_round_provenance, round_dir,
                                 state_dict_hash)

__all__ = ['LabelingDataset', 'PseudoLabeler']


class LabelingDataset(Dataset):
    """Data infos run through a test pipeline: what :meth:`PseudoLabeler.run`
    reads (and a benchmark of bare inference, to compare). An error of
    reading an image names it."""

    def __init__(self, data_infos: List[dict], pipeline: Sequence[dict]):
        self.data_infos = data_infos
        self.pipeline = Compose(pipeline)

    def __len__(self) -> int:
        return len(self.data_infos)

    def __getitem__(self, idx: int) -> dict:
        with naming_file(self.data_infos[idx]):
            return self.pipeline(dict(self.data_infos[idx]))


class PseudoLabeler:
    """Labels the images of an unlabeled MMSeg dataset, round by round.

    The labeling pass of Yuan et al., ICCV 2021, section 3.1: the model's
    own test mode (``model.test_step``, or MMSeg's :class:`SegTTAModel` for
    flip / multi-scale TTA) gives a hard train id per pixel at the original
    resolution, with no confidence threshold. It is an evaluation pass of
    MMEngine's: :meth:`Runner.build_dataloader` with a ``DefaultSampler``
    (each rank labels its share) and a :class:`PseudoLabelMetric`, which
    writes the PNGs and whose statistics MMEngine gathers. This class owns
    the round folders (:func:`mmseg_sb.utils.round_dir`): a folder is
    complete once its marker exists, and a partial one is never read. The
    marker records what made the labels (:meth:`provenance`: the model's
    weights, the images, the settings, the label format), and a folder
    whose record differs from what this labeler would write is stale
    (:meth:`stale_reasons`). Any folder can be labeled the same way
    (:meth:`label_folder`, tools/pseudo_label.py).

    Args:
        dataset (BaseDataset): The unlabeled dataset (its ``img_path`` of
            each sample, ``img_suffix``, ``seg_map_suffix`` and image folder).
        pipeline (list[dict]): Test pipeline that loads and packs an image
            (no ``LoadAnnotations``).
        num_classes (int): Number of classes.
        gt_dir (str, optional): Ground-truth folder of the unlabeled images,
            same layout as the pseudo labels. Defaults to None.
        ignore_index (int): Ignore label of the ground truth. Defaults to 255.
        num_workers (int): Data loading workers. Defaults to 2.
        num_writers (int): PNG writing threads. Defaults to 2.
        progress (bool): Log the progress on rank 0. Defaults to True.
        work_dir (str, optional): The run's work dir, which holds the
            rounds' folders. Defaults to None.
        tta (bool): Label with MMSeg's :class:`SegTTAModel` (``pipeline``
            is then a TTA pipeline). Defaults to False.
    """

    def __init__(self,
                 dataset: BaseDataset,
                 pipeline: Sequence[dict],
                 num_classes: int,
                 gt_dir: Optional[str] = None,
                 ignore_index: int = 255,
                 num_workers: int = 2,
                 num_writers: int = 2,
                 progress: bool = True,
                 work_dir: Optional[str] = None,
                 tta: bool = False) -> None:
        self.dataset = dataset
        self.pipeline = pipeline
        self.num_classes = num_classes
        self.gt_dir = gt_dir or None
        self.ignore_index = ignore_index
        self.num_workers = num_workers
        self.num_writers = num_writers
        self.progress = progress
        self.work_dir = work_dir
        self.tta = tta
        #: Whether label files hold class id + 1 (ADE20K's format).
        self.reduce_zero_label = bool(
            getattr(dataset, 'reduce_zero_label', False))
        if getattr(dataset, 'label_map', None):
            raise ValueError(
                f'PseudoLabeler writes train ids, and the unlabeled dataset '
                f'maps its label values (label_map={dataset.label_map}: its '
                'classes are a subset or reordering of the files\' ones), '
                'which would be applied to the pseudo labels again. Give the '
                'unlabeled dataset the classes of its label files.')

    def round_dir(self, r: int) -> str:
        """Folder of the pseudo labels that round ``r`` trains on."""
        if self.work_dir is None:
            raise ValueError('PseudoLabeler needs a work_dir for rounds.')
        return round_dir(self.work_dir, r)

    @staticmethod
    def weights_hash(model: nn.Module) -> str:
        """The :func:`state_dict_hash` of ``model`` on rank 0, broadcast so
        that every rank takes the same decisions."""
        digest = [is_main_process() and state_dict_hash(model.state_dict())]
        broadcast_object_list(digest)
        return digest[0]

    def provenance(self, weights: Optional[str],
                   teacher_checkpoint: Optional[str]) -> LabelProvenance:
        """What this labeler's labels are made of, with a model whose
        :meth:`weights_hash` is ``weights`` (loaded from
        ``teacher_checkpoint``, or None)."""
        paths = [info['img_path'] for info in self._data_infos()]
        return LabelProvenance(
            weights=weights,
            num_images=len(paths),
            images=paths_hash(paths),
            tta=self.tta,
            pipeline=self.pipeline,
            seg_map_suffix=self.dataset.seg_map_suffix,
            label_encoding=label_encoding(self.reduce_zero_label),
            teacher_checkpoint=teacher_checkpoint)

    def stale_reasons(self, r: int, expected: LabelProvenance) -> List[str]:
        """Why round ``r``'s folder does not hold the labels ``expected``
        describes (incomplete, each differing field of its provenance, or
        label files missing); empty if it can be trained on."""
        out_dir = self.round_dir(r)
        if not is_complete_round(out_dir):
            return [f'incomplete (no {COMPLETE_MARKER})']
        reasons = expected.mismatches(read_round_provenance(out_dir))
        if reasons:
            return reasons
        missing = self.missing_labels(out_dir)
        return [f'{len(missing)} label files missing, e.g. {missing[0]}'
                ] if missing else []

    def foreign_files(self, label_dir: str) -> List[str]:
        """The files under ``label_dir`` that a labeling pass of these
        images does not write (its label files, their temporary files and
        the marker), which :meth:`label_folder` would delete."""
        own = {
            osp.normpath(
                osp.join(label_dir, self.relative_label_path(i['img_path'])))
            for i in self._data_infos()
        }
        marker = osp.join(label_dir, COMPLETE_MARKER)
        own.update((osp.normpath(marker), osp.normpath(marker + '.tmp')))
        found = (osp.normpath(osp.join(d, f))
                 for d, _, files in os.walk(label_dir) for f in files)
        # A write in progress is '<label>.<pid>.tmp' (write_png_atomic).
        return sorted(
            p for p in found if p not in own
            and not (p.endswith('.tmp') and p.rsplit('.', 2)[0] in own))

    def label_round(self,
                    model: nn.Module,
                    r: int,
                    provenance: LabelProvenance,
                    previews: int = 0,
                    visualizer=None,
                    step: int = 0) -> dict:
        """Label every image into round ``r``'s folder
        (:meth:`label_folder`), the statistics with ``round``; previews
        are drawn at step ``r``."""
        return self.label_folder(model, self.round_dir(r), provenance, r,
                                 previews, visualizer, step)

    def label_folder(self,
                     model: nn.Module,
                     label_dir: str,
                     provenance: LabelProvenance,
                     r: Optional[int] = None,
                     previews: int = 0,
                     visualizer=None,
                     step: int = 0) -> dict:
        """Label every image into ``label_dir``, all ranks together, in
        eval mode (in a :class:`SegTTAModel` with ``tta``).

        A partial folder of an interrupted pass is removed first; the marker
        (the statistics of :meth:`run` and ``provenance``, from
        :meth:`provenance` for ``model``) is written once every label file
        exists. The statistics go to the log and, as ``pseudo/*`` scalars at
        ``step``, to ``visualizer``, which also draws ``previews`` images.

        Args:
            r (int, optional): The round the labels are for, kept in the
                statistics; None for labels of no round (tools/
                pseudo_label.py). Defaults to None.

        Returns:
            dict: The statistics, on every rank.
        """
        of_round = '' if r is None else f'for round {r} '
        print_log(
            f'PseudoLabeler: labeling {len(self.dataset)} images {of_round}'
            f'into {label_dir}',
            logger='current')
        if is_main_process():
            shutil.rmtree(label_dir, ignore_errors=True)
            os.makedirs(label_dir)
        barrier()
        was_training = model.training
        model.eval()
        stats = self.run(
            SegTTAModel(module=model) if self.tta else model,
            label_dir,
            previews,
            visualizer,
            step=0 if r is None else r)
        model.train(was_training)
        if r is not None:
            stats['round'] = r
        barrier()
        if is_main_process():
            missing = self.missing_labels(label_dir)
            if missing:
                raise RuntimeError(
                    f'PseudoLabeler: {len(missing)} pseudo labels {of_round}'
                    f'were not written, e.g. {missing[0]}.')
            mark_round_complete(label_dir, stats, provenance)
        barrier()
        text, scalars = PseudoLabelMetric.describe(
            stats, self.dataset.metainfo['classes'])
        print_log(f'PseudoLabeler: {text}', logger='current')
        if visualizer is not None:
            visualizer.add_scalars(scalars, step=step)
        return stats

    def _metric(self, out_dir: str) -> PseudoLabelMetric:
        return PseudoLabelMetric(
            out_dir,
            img_dir=self.dataset.data_prefix['img_path'],
            img_suffix=self.dataset.img_suffix,
            seg_map_suffix=self.dataset.seg_map_suffix,
            num_classes=self.num_classes,
            gt_dir=self.gt_dir,
            ignore_index=self.ignore_index,
            num_writers=self.num_writers,
            reduce_zero_label=self.reduce_zero_label)

    def relative_label_path(self, img_path: str) -> str:
        """``city/name<seg_map_suffix>`` of an image
        ``.../city/name<img_suffix>``."""
        return relative_label_path(img_path,
                                   self.dataset.data_prefix['img_path'],
                                   self.dataset.img_suffix,
                                   self.dataset.seg_map_suffix)

    def missing_labels(self, out_dir: str) -> List[str]:
        """The pseudo-label paths under ``out_dir`` that do not exist."""
        paths = (
            osp.join(out_dir, self.relative_label_path(i['img_path']))
            for i in self._data_infos())
        return [p for p in paths if not osp.isfile(p)]

    def _data_infos(self) -> List[dict]:
        return [
            self.dataset.get_data_info(i) for i in range(len(self.dataset))
        ]

    @torch.no_grad()
    def run(self,
            model: nn.Module,
            out_dir: str,
            previews: int = 0,
            visualizer=None,
            step: int = 0) -> Dict[str, object]:
        """Label the images into ``out_dir`` with ``model`` (a segmentor
        or a SegTTAModel, in eval mode), each rank its share; ``previews``
        images are drawn with ``visualizer`` at ``step``.

        Returns:
            dict: The statistics of :class:`PseudoLabelMetric` and
            ``images_per_s`` (of the slowest rank).
        """
        # seed=0: a sampler without shuffling needs none, and drawing one
        # would move the run's random streams.
        loader = Runner.build_dataloader(
            dict(
                batch_size=1,
                num_workers=self.num_workers,
                sampler=dict(type='DefaultSampler', shuffle=False, seed=0),
                collate_fn=dict(type='pseudo_collate'),
                dataset=LabelingDataset(self._data_infos(), self.pipeline)))
        metric = self._metric(out_dir)
        evaluator = Evaluator(metric)
        show = self.progress and get_dist_info()[0] == 0
        start = time.perf_counter()
        for i, data in enumerate(loader):
            outputs = model.test_step(data)
            evaluator.process(outputs, data)
            for sample in outputs[:max(previews, 0)]:
                if visualizer is not None:
                    self._preview(visualizer, metric, sample, step)
            previews -= len(outputs)
            if show and (i + 1) * 10 // len(loader) != i * 10 // len(loader):
                print_log(
                    f'labeling: {i + 1}/{len(loader)} batches',
                    logger='current')
        stats = evaluator.evaluate(len(loader.dataset))
        elapsed = torch.tensor([time.perf_counter() - start],
                               dtype=torch.float64)
        all_reduce(elapsed, op='max')
        stats = {key.split('/', 1)[1]: value for key, value in stats.items()}
        stats['images_per_s'] = stats['num_images'] / max(elapsed.item(), 1e-9)
        return stats

    def _preview(self, visualizer, metric: PseudoLabelMetric,
                 sample: SegDataSample, step: int) -> None:
        """Draw image, pseudo label (and ground truth) with the
        visualizer."""
        rel = metric.relative_label_path(sample.img_path)
        img = cv2.imread(sample.img_path, cv2.IMREAD_COLOR)[..., ::-1]
        drawn = SegDataSample()
        drawn.pred_sem_seg = sample.pred_sem_seg
        if self.gt_dir is not None:
            drawn.gt_sem_seg = PixelData(data=metric.read_gt(rel)[None])
        visualizer.add_datasample(
            # Flat name: LocalVisBackend writes vis_image/<name>_<step>.png.
            'pseudo_label_' +
            osp.basename(rel).replace(self.dataset.seg_map_suffix, ''),
            np.ascontiguousarray(img),
            drawn,
            draw_gt=self.gt_dir is not None,
            draw_pred=True,
            step=step)
