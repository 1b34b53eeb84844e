# Copyright (c) mmseg_sb contributors. All rights reserved.
import copy
import os
import os.path as osp
import shutil
import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
import torch
import torch.nn as nn
from mmcv.transforms import Compose
from mmengine.config import Config
from mmengine.dataset import BaseDataset, pseudo_collate
from mmengine.dist import all_reduce, barrier, get_dist_info, is_main_process
from mmengine.logging import print_log
from mmengine.structures import PixelData
from mmengine.utils import ProgressBar
from torch.utils.data import DataLoader, Dataset

from mmseg.evaluation import IoUMetric
from mmseg.models import SegTTAModel
from mmseg.structures import SegDataSample
from ..utils.label_round import (COMPLETE_MARKER, is_complete_round,
                                 mark_round_complete, read_round_stats)

__all__ = [
    'COMPLETE_MARKER', 'LabelingDataset', 'PseudoLabeler', 'labeling_pipeline'
]


def labeling_pipeline(cfg: Config, tta: bool) -> List[dict]:
    """The config's test pipeline (``tta_pipeline`` with ``tta``) without
    its annotation loading: the unlabeled images are labeled, not read with
    labels."""
    source = cfg.get('tta_pipeline') if tta else \
        cfg.test_dataloader.dataset.pipeline
    if source is None:
        raise ValueError('Labeling with tta=True needs a tta_pipeline in the '
                         "config (MMSeg's dataset configs define one).")
    pipeline = [
        copy.deepcopy(t) for t in source if t['type'] != 'LoadAnnotations'
    ]
    for t in pipeline:  # TestTimeAug lists its steps; drop annotations.
        if t['type'] == 'TestTimeAug':
            t['transforms'] = [
                step for step in t['transforms']
                if all(s['type'] != 'LoadAnnotations' for s in step)
            ]
    return pipeline


class LabelingDataset(Dataset):
    """Data infos (e.g. one rank's shard of a dataset) run through a test
    pipeline: what :meth:`PseudoLabeler.run` reads, and what a benchmark of
    bare inference reads to compare with it."""

    def __init__(self, data_infos: List[dict], pipeline: Sequence[dict]):
        self.data_infos = data_infos
        self.pipeline = Compose(pipeline)

    def __len__(self) -> int:
        return len(self.data_infos)

    def __getitem__(self, idx: int) -> dict:
        return self.pipeline(dict(self.data_infos[idx]))


def write_png_atomic(path: str, label: np.ndarray) -> None:
    """Write a uint8 label map as PNG: to a temporary name, then renamed, so
    ``path`` never holds a partial file."""
    ok, buf = cv2.imencode('.png', label)
    if not ok:
        raise RuntimeError(f'cv2.imencode failed for {path}')
    tmp = f'{path}.{os.getpid()}.tmp'
    with open(tmp, 'wb') as f:
        f.write(buf.tobytes())
    os.replace(tmp, path)


class _CoarseProgress:
    """Progress for non-terminal output: one log line per 10%."""

    def __init__(self, total: int) -> None:
        self.total, self.done, self.start = total, 0, time.perf_counter()

    def update(self) -> None:
        self.done += 1
        if self.done * 10 // self.total != (self.done - 1) * 10 // self.total:
            rate = self.done / (time.perf_counter() - self.start)
            print_log(
                f'labeling: {self.done}/{self.total} images, '
                f'{rate:.1f} images/s',
                logger='current')


class PseudoLabeler:
    """Labels the images of an unlabeled MMSeg dataset with a segmentor.

    One labeling pass of the self-training loop of Yuan et al., ICCV 2021:
    the model's own test mode (``model.test_step``: slide or whole inference,
    or MMSeg's :class:`SegTTAModel` for flip / multi-scale test-time
    augmentation) predicts a hard train id per pixel at the original
    resolution, with no confidence threshold. Each rank labels the images
    ``rank, rank + world_size, ...`` and writes them as uint8 PNGs under
    ``out_dir``, keeping the sub-folders (cities) of the image folder and the
    dataset's label suffix. PNG encoding and writing run in a thread pool,
    overlapped with inference; each file is written atomically.

    The pass also measures, over all ranks: the pixel share of each class,
    the mean confidence (max softmax probability; under test-time
    augmentation, of the last augmented view), images per second and, when
    the unlabeled images have ground truth, the pseudo labels' IoU against it
    (MMSeg's :meth:`IoUMetric.intersect_and_union`).

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
        progress (bool): Show a progress bar on rank 0. Defaults to True.
        out_root (str, optional): Folder of the rounds' labels
            (``round_<r>/``, see :meth:`label_round`). Defaults to None.
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
                 out_root: Optional[str] = None) -> None:
        self.dataset = dataset
        self.pipeline = pipeline
        self.num_classes = num_classes
        self.gt_dir = gt_dir or None
        self.ignore_index = ignore_index
        self.num_workers = num_workers
        self.num_writers = num_writers
        self.progress = progress
        self.out_root = out_root
        self.img_dir = dataset.data_prefix['img_path']

    def round_dir(self, r: int) -> str:
        """Folder of the pseudo labels that round ``r`` trains on."""
        if self.out_root is None:
            raise ValueError('PseudoLabeler needs an out_root for rounds.')
        return osp.join(self.out_root, f'round_{r}')

    def is_complete(self, r: int) -> bool:
        """Whether round ``r``'s labels are all written (its marker
        exists); a round without its marker is never used."""
        return is_complete_round(self.round_dir(r))

    def read_stats(self, r: int) -> dict:
        """The statistics of complete round ``r``."""
        return read_round_stats(self.round_dir(r))

    def label_round(self,
                    model: nn.Module,
                    r: int,
                    tta: bool = False,
                    previews: int = 0,
                    visualizer=None,
                    step: int = 0) -> dict:
        """Label every image into round ``r``'s folder, all ranks together.

        The model labels in eval mode (wrapped in MMSeg's
        :class:`SegTTAModel` with ``tta``) and is put back in its previous
        mode afterwards. A partial folder of an interrupted pass is removed
        first. The marker (with the statistics of :meth:`run` and ``round``)
        is written atomically, and only after every label file exists. The
        statistics go to the current logger (:meth:`describe`) and, as
        ``pseudo/*`` scalars at ``step`` (the training iteration), to
        ``visualizer``, which also draws ``previews`` images (at step ``r``).

        Returns:
            dict: The statistics, on every rank.
        """
        out_dir = self.round_dir(r)
        print_log(
            f'PseudoLabeler: labeling {len(self.dataset)} images for round '
            f'{r} into {out_dir}',
            logger='current')
        if is_main_process():
            shutil.rmtree(out_dir, ignore_errors=True)
            os.makedirs(out_dir)
        barrier()
        was_training = model.training
        model.eval()
        stats = self.run(
            SegTTAModel(module=model) if tta else model,
            out_dir,
            previews,
            visualizer,
            step=r)
        model.train(was_training)
        stats['round'] = r
        barrier()
        if is_main_process():
            missing = [
                p for p in self.label_paths(out_dir) if not osp.isfile(p)
            ]
            if missing:
                raise RuntimeError(
                    f'PseudoLabeler: {len(missing)} pseudo labels of round '
                    f'{r} were not written, e.g. {missing[0]}.')
            mark_round_complete(out_dir, stats)
        barrier()
        text, scalars = self.describe(stats, self.dataset.metainfo['classes'])
        print_log(f'PseudoLabeler: {text}', logger='current')
        if visualizer is not None:
            visualizer.add_scalars(scalars, step=step)
        return stats

    @staticmethod
    def describe(stats: dict,
                 classes: Sequence[str]) -> Tuple[str, Dict[str, float]]:
        """A log text and visualizer scalars (``pseudo/*``) of a round's
        statistics."""
        scalars = {
            'pseudo/images_per_s': stats['images_per_s'],
            'pseudo/mean_confidence': stats['mean_confidence'],
        }
        scalars.update({
            f'pseudo/share_{name}': share
            for name, share in zip(classes, stats['class_share'])
        })
        lines = [
            f'round {stats.get("round")} labels: {stats["num_images"]} '
            f'images, {stats["images_per_s"]:.2f} images/s, mean confidence '
            f'{stats["mean_confidence"]:.4f}'
        ]
        if 'mIoU' in stats:
            scalars['pseudo/mIoU'] = stats['mIoU']
            lines.append('pseudo-label mIoU vs ground truth: '
                         f'{100 * stats["mIoU"]:.2f}')
        shares = ', '.join(
            f'{name} {100 * share:.1f}%'
            for name, share in zip(classes, stats['class_share']))
        lines.append(f'class pixel share: {shares}')
        return '\n'.join(lines), scalars

    def relative_label_path(self, img_path: str) -> str:
        """``city/name<seg_map_suffix>`` of an image
        ``.../city/name<img_suffix>``."""
        rel = osp.relpath(img_path, self.img_dir)
        if not rel.endswith(self.dataset.img_suffix):
            raise ValueError(f'Image {img_path} does not end with the '
                             f'dataset img_suffix {self.dataset.img_suffix}.')
        return rel[:-len(self.dataset.img_suffix)] + \
            self.dataset.seg_map_suffix

    def label_paths(self, out_dir: str) -> List[str]:
        """The pseudo-label path of every image of the dataset."""
        return [
            osp.join(out_dir, self.relative_label_path(info['img_path']))
            for info in self._data_infos()
        ]

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
        """Label this rank's shard into ``out_dir`` and gather statistics.

        Args:
            model (nn.Module): A segmentor, or a SegTTAModel around one, in
                eval mode.
            out_dir (str): Folder of this round's pseudo labels.
            previews (int): Number of images (rank 0) drawn with
                ``visualizer``. Defaults to 0.
            visualizer (SegLocalVisualizer, optional): Draws previews.
            step (int): Step recorded with the previews. Defaults to 0.

        Returns:
            dict: ``num_images``, ``images_per_s``, ``class_share`` (list of
            floats), ``mean_confidence`` and, with ground truth, ``mIoU``
            and ``IoU`` (list; NaN for classes absent from both).
        """
        rank, world_size = get_dist_info()
        infos = self._data_infos()[rank::world_size]
        loader = DataLoader(
            LabelingDataset(infos, self.pipeline),
            batch_size=1,
            num_workers=self.num_workers,
            collate_fn=pseudo_collate)
        totals = dict(
            counts=torch.zeros(self.num_classes, dtype=torch.float64),
            conf_sum=torch.zeros(1, dtype=torch.float64),
            areas=torch.zeros(4, self.num_classes, dtype=torch.float64))
        bar = self._progress_bar(len(infos)) if rank == 0 else None
        start = time.perf_counter()
        with ThreadPoolExecutor(self.num_writers) as pool:
            pending: List[Future] = []
            for data in loader:
                for sample in model.test_step(data):
                    label = sample.pred_sem_seg.data.squeeze(0).cpu()
                    rel = self.relative_label_path(sample.img_path)
                    path = osp.join(out_dir, rel)
                    os.makedirs(osp.dirname(path), exist_ok=True)
                    pending.append(
                        pool.submit(write_png_atomic, path,
                                    label.numpy().astype(np.uint8)))
                    self._accumulate(totals, sample, label, rel)
                    if previews > 0 and visualizer is not None:
                        self._preview(visualizer, sample, label, rel, step)
                        previews -= 1
                if bar is not None:
                    bar.update()
            for future in pending:
                future.result()
        elapsed = time.perf_counter() - start
        return self._gather(len(infos), elapsed, **totals)

    def _accumulate(self, totals: dict, sample: SegDataSample,
                    label: torch.Tensor, rel: str) -> None:
        """Add one image to the class counts, confidence sum and (with
        ground truth) IoU areas."""
        totals['counts'] += torch.bincount(
            label.flatten(), minlength=self.num_classes)[:self.num_classes]
        totals['conf_sum'] += self._confidence_sum(sample)
        if self.gt_dir is not None:
            totals['areas'] += self._areas(label, rel)

    def _progress_bar(self, total: int) -> Optional[ProgressBar]:
        """MMEngine's progress bar on a terminal, else a log line per
        10%."""
        if not self.progress:
            return None
        if sys.stdout.isatty():
            return ProgressBar(total)
        return _CoarseProgress(total)

    @staticmethod
    def _confidence_sum(sample: SegDataSample) -> float:
        """Sum over pixels of the max softmax probability."""
        if 'seg_logits' not in sample:
            return 0.0
        probs = sample.seg_logits.data.float().softmax(dim=0)
        return probs.amax(dim=0).sum().item()

    def _read_gt(self, rel: str) -> torch.Tensor:
        path = osp.join(self.gt_dir, rel)
        gt = cv2.imread(path, cv2.IMREAD_UNCHANGED)
        if gt is None:
            raise FileNotFoundError(
                f'Ground truth {path} of an unlabeled image is missing; set '
                "the unlabeled dataset's seg_map_path to None if it has no "
                'ground truth.')
        return torch.from_numpy(gt.astype(np.int64))

    def _areas(self, label: torch.Tensor, rel: str) -> torch.Tensor:
        """Intersection, union, pred and gt areas of one image."""
        gt = self._read_gt(rel)
        return torch.stack(
            IoUMetric.intersect_and_union(label, gt, self.num_classes,
                                          self.ignore_index)).double()

    def _preview(self, visualizer, sample: SegDataSample, label: torch.Tensor,
                 rel: str, step: int) -> None:
        """Draw image with pseudo label (and ground truth) with MMSeg's
        SegLocalVisualizer."""
        img = cv2.imread(sample.img_path, cv2.IMREAD_COLOR)[..., ::-1]
        drawn = SegDataSample()
        drawn.pred_sem_seg = PixelData(data=label[None])
        if self.gt_dir is not None:
            drawn.gt_sem_seg = PixelData(data=self._read_gt(rel)[None])
        visualizer.add_datasample(
            # Flat name: LocalVisBackend writes vis_image/<name>_<step>.png.
            'pseudo_label_' +
            osp.basename(rel).replace(self.dataset.seg_map_suffix, ''),
            np.ascontiguousarray(img),
            drawn,
            draw_gt=self.gt_dir is not None,
            draw_pred=True,
            step=step)

    def _gather(self, num_images: int, elapsed: float, counts: torch.Tensor,
                conf_sum: torch.Tensor, areas: torch.Tensor) -> dict:
        """Sum the statistics over ranks (the time: the slowest rank's)."""
        num_classes = self.num_classes
        totals = torch.cat([
            torch.tensor([num_images], dtype=torch.float64), counts, conf_sum,
            areas.flatten()
        ])
        elapsed = torch.tensor([elapsed], dtype=torch.float64)
        all_reduce(totals, op='sum')
        all_reduce(elapsed, op='max')
        num_images = int(totals[0].item())
        counts = totals[1:1 + num_classes]
        num_pixels = counts.sum().clamp(min=1)
        stats = dict(
            num_images=num_images,
            images_per_s=num_images / max(elapsed.item(), 1e-9),
            class_share=(counts / num_pixels).tolist(),
            mean_confidence=(totals[1 + num_classes] / num_pixels).item())
        if self.gt_dir is not None:
            areas = totals[2 + num_classes:].view(4, num_classes)
            iou = areas[0] / areas[1]
            stats['IoU'] = iou.tolist()
            stats['mIoU'] = float(np.nanmean(iou.numpy()))
        return stats
