# Copyright (c) mmseg_sb contributors. All rights reserved.
import os
import os.path as osp
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
import torch

from mmseg.datasets.transforms import LoadAnnotations
from mmseg.evaluation import IoUMetric
from mmseg.registry import METRICS


def write_png_atomic(path: str, label: np.ndarray) -> None:
    """Write a uint8 label map as PNG: to a temporary name, then renamed, so
    ``path`` never holds a partial file; a failed write leaves no file."""
    ok, buf = cv2.imencode('.png', label)
    if not ok:
        raise RuntimeError(f'cv2.imencode failed for {path}')
    tmp = f'{path}.{os.getpid()}.tmp'
    try:
        with open(tmp, 'wb') as f:
            f.write(buf.tobytes())
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


def relative_label_path(img_path: str, img_dir: str, img_suffix: str,
                        seg_map_suffix: str) -> str:
    """``city/name<seg_map_suffix>``, the label path of an image
    ``<img_dir>/city/name<img_suffix>`` relative to a label folder."""
    rel = osp.relpath(img_path, img_dir)
    if not rel.endswith(img_suffix):
        raise ValueError(f'Image {img_path} does not end with the '
                         f'dataset img_suffix {img_suffix}.')
    return rel[:-len(img_suffix)] + seg_map_suffix


@METRICS.register_module()
class PseudoLabelMetric(IoUMetric):
    """Writes each prediction as a pseudo label and measures the pass.

    The metric of a labeling pass (Yuan et al., ICCV 2021, section 3.1). As
    MMSeg's :class:`IoUMetric` with ``format_only``, it writes every
    ``pred_sem_seg`` (uint8 train ids) as a PNG in the dataset's layout
    (``<img_dir>/city/name<img_suffix>`` becomes
    ``<out_dir>/city/name<seg_map_suffix>``), atomically, in a thread pool
    overlapped with inference. It keeps per image the class pixel counts,
    the sum of the confidences (max softmax probability; under TTA, of the
    last view) and, with ground truth (``gt_dir``), the IoU areas; MMEngine
    gathers them from all ranks. :meth:`compute_metrics` gives
    ``num_images``, ``class_share``, ``mean_confidence`` and, with ground
    truth, ``IoU`` and ``mIoU`` (fractions, as the round marker keeps them).

    Args:
        out_dir (str): Folder of the round's pseudo labels.
        img_dir (str): Image folder of the unlabeled dataset.
        img_suffix (str): Image suffix of the dataset.
        seg_map_suffix (str): Label suffix of the dataset.
        num_classes (int): Number of classes.
        gt_dir (str, optional): Ground-truth folder of the unlabeled images,
            same layout as the pseudo labels. Defaults to None.
        ignore_index (int): Ignore label of the ground truth. Defaults to 255.
        num_writers (int): PNG writing threads. Defaults to 2.
        reduce_zero_label (bool): Whether the dataset's label files hold
            class id + 1, with 0 ignored (MMSeg's ``reduce_zero_label``,
            e.g. ADE20K). The pseudo labels are then written so, for
            ``LoadAnnotations`` to read the train ids back, and the ground
            truth is read so. Defaults to False.
    """

    default_prefix = 'pseudo'

    def __init__(self,
                 out_dir: str,
                 img_dir: str,
                 img_suffix: str,
                 seg_map_suffix: str,
                 num_classes: int,
                 gt_dir: Optional[str] = None,
                 ignore_index: int = 255,
                 num_writers: int = 2,
                 reduce_zero_label: bool = False,
                 **kwargs) -> None:
        super().__init__(ignore_index=ignore_index, **kwargs)
        if num_classes > 255 - reduce_zero_label:
            raise ValueError(
                f'PseudoLabelMetric writes uint8 PNGs, and {num_classes} '
                'classes do not fit (at most 255, or 254 with '
                'reduce_zero_label).')
        self.out_dir = out_dir
        self.img_dir = img_dir
        self.img_suffix = img_suffix
        self.seg_map_suffix = seg_map_suffix
        self.num_classes = num_classes
        self.gt_dir = gt_dir or None
        self.num_writers = num_writers
        self.reduce_zero_label = reduce_zero_label
        # Writer threads live from the first prediction to evaluate().
        self._pool: Optional[ThreadPoolExecutor] = None
        self._pending: List[Future] = []

    def relative_label_path(self, img_path: str) -> str:
        """``city/name<seg_map_suffix>`` of an image
        ``<img_dir>/city/name<img_suffix>``."""
        return relative_label_path(img_path, self.img_dir, self.img_suffix,
                                   self.seg_map_suffix)

    def read_gt(self, rel: str) -> torch.Tensor:
        """The ground truth of the image whose label is ``rel``."""
        path = osp.join(self.gt_dir, rel)
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'Ground truth {path} of an unlabeled image is missing; set '
                "the unlabeled dataset's seg_map_path to None if it has no "
                'ground truth.')
        try:  # as training reads labels (reduce_zero_label included)
            gt = LoadAnnotations()(dict(
                seg_map_path=path,
                reduce_zero_label=self.reduce_zero_label,
                seg_fields=[]))['gt_seg_map']
        except Exception as e:
            raise ValueError(f'Ground truth {path} of an unlabeled image '
                             f'cannot be decoded ({e}); replace it.') from e
        return torch.from_numpy(gt.astype(np.int64))

    def label_file(self, train_ids: np.ndarray) -> np.ndarray:
        """The uint8 label map written for ``train_ids``: train ids, + 1
        with ``reduce_zero_label``, which MMSeg's ``LoadAnnotations`` reads
        back as ``train_ids``."""
        return (train_ids.astype(np.int64) + self.reduce_zero_label).astype(
            np.uint8)

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Queue each prediction's PNG and keep its statistics; a failed
        write of an earlier PNG stops the pass here."""
        self._raise_failed_writes(wait=False)
        for sample in data_samples:
            label = sample['pred_sem_seg']['data'].squeeze(0).cpu()
            rel = self.relative_label_path(sample['img_path'])
            path = osp.join(self.out_dir, rel)
            os.makedirs(osp.dirname(path), exist_ok=True)
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.num_writers)
            self._pending.append(
                self._pool.submit(write_png_atomic, path,
                                  self.label_file(label.numpy())))
            result = dict(
                counts=torch.bincount(
                    label.flatten(),
                    minlength=self.num_classes)[:self.num_classes],
                conf_sum=self._confidence_sum(sample))
            if self.gt_dir is not None:
                # float64: float32 sums are inexact past 2**24 pixels.
                result['areas'] = torch.stack(
                    self.intersect_and_union(label, self.read_gt(rel),
                                             self.num_classes,
                                             self.ignore_index)).double()
            self.results.append(result)

    @staticmethod
    def _confidence_sum(sample: dict) -> float:
        """Sum over pixels of the max softmax probability."""
        if 'seg_logits' not in sample:
            return 0.0
        probs = sample['seg_logits']['data'].float().softmax(dim=0)
        return probs.amax(dim=0).sum().item()

    def evaluate(self, size: int) -> dict:
        """Wait for this rank's PNGs (a failed write raises here), then
        gather and compute as :class:`BaseMetric`."""
        self._raise_failed_writes(wait=True)
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
        return super().evaluate(size)

    def _raise_failed_writes(self, wait: bool) -> None:
        """Raise an ``OSError`` naming the folder and the reason if a PNG
        write failed (pending writes are cancelled); forget the writes that
        are done. With ``wait``, wait for all of them first."""
        pending = []
        for future in self._pending:
            if not (wait or future.done()):
                pending.append(future)
            elif future.exception() is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
                self._pool, self._pending = None, []
                error = future.exception()
                if not isinstance(error, Exception):
                    raise error  # e.g. KeyboardInterrupt: not the disk's
                raise OSError(
                    f'PseudoLabelMetric: writing pseudo labels into '
                    f'{self.out_dir} failed ({type(error).__name__}: '
                    f'{error}); the pass is stopped. Free space there or '
                    'train in another --work-dir; the round is relabeled '
                    'when the run is resumed.') from error
        self._pending = pending

    def compute_metrics(self, results: List[dict]) -> Dict[str, object]:
        """The pass's statistics from every image's results."""
        counts = sum(r['counts'] for r in results).double()
        num_pixels = counts.sum().clamp(min=1)
        stats = dict(
            num_images=len(results),
            class_share=(counts / num_pixels).tolist(),
            mean_confidence=sum(r['conf_sum']
                                for r in results) / num_pixels.item())
        if self.gt_dir is not None:
            areas = sum(r['areas'] for r in results)
            iou = self.total_area_to_metrics(*areas, ['mIoU'])['IoU']
            stats['IoU'] = iou.tolist()
            stats['mIoU'] = float(np.nanmean(iou))
        return stats

    @staticmethod
    def describe(stats: dict,
                 classes: Sequence[str]) -> Tuple[str, Dict[str, float]]:
        """A log text and visualizer scalars (``pseudo/*``) of a round's
        statistics."""
        shares = dict(zip(classes, stats['class_share']))
        scalars = {f'pseudo/share_{name}': v for name, v in shares.items()}
        scalars['pseudo/images_per_s'] = stats['images_per_s']
        scalars['pseudo/mean_confidence'] = stats['mean_confidence']
        lines = [
            (f'round {stats["round"]} ' if 'round' in stats else '') +
            f'labels: {stats["num_images"]} '
            f'images, {stats["images_per_s"]:.2f} images/s, mean confidence '
            f'{stats["mean_confidence"]:.4f}'
        ]
        if 'mIoU' in stats:
            scalars['pseudo/mIoU'] = stats['mIoU']
            lines.append('pseudo-label mIoU vs ground truth: '
                         f'{100 * stats["mIoU"]:.2f}')
        lines.append('class pixel share: ' +
                     ', '.join(f'{name} {100 * v:.1f}%'
                               for name, v in shares.items()))
        return '\n'.join(lines), scalars
