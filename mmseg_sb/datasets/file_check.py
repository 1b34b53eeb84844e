# Copyright (c) mmseg_sb contributors. All rights reserved.
"""The files a training run reads, checked before it starts.

A bad file otherwise stops training late (at its first draw, after a whole
teacher round, or in the labeling pass) with an error that names neither the
file nor the fix. :func:`check_dataset_files` reads the files of MMSeg
datasets the way MMSeg's ``LoadImageFromFile`` and ``LoadAnnotations`` read
them (``mmcv.imfrombytes``, cv2 for images and pillow for labels) and checks:

- each ``ann_file`` as MMSeg parses it (``mmengine.list_from_file``, one
  name per line): a blank line is an image named ``<img_suffix>``;
- that every image and label file exists;
- with ``decode``: that every image decodes, and every label decodes with
  values within the classes or the ignore index (after the dataset's
  ``label_map`` and ``reduce_zero_label``).

Labels are checked where they are read: a dataset whose pipeline loads
annotations, and the ground truth of a :class:`PseudoLabeledDataset`, which
measures its pseudo labels. The unlabeled images of the online methods may
have no label file at all. ``tools/splits.py check`` and
:class:`~mmseg_sb.engine.hooks.CheckInputsHook` run this code.
"""
import os.path as osp
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Dict, Iterator, List, NamedTuple, Optional, Tuple

import mmcv
import mmengine
import numpy as np
from mmcv.transforms import LoadAnnotations
from mmengine.dataset import (BaseDataset, ClassBalancedDataset, ConcatDataset,
                              RepeatDataset)

from mmseg.datasets import BaseSegDataset
from .pseudo_labeled_dataset import PseudoLabeledDataset

#: Bad files named in full in an error; the rest are counted.
MAX_NAMED = 5


class FileEntry(NamedTuple):
    """One image of a dataset and the label file read with it."""
    img_path: str
    seg_map_path: Optional[str]
    #: Where the entry comes from (its dataset and ann_file), for messages.
    source: str
    num_classes: int
    ignore_index: int
    label_map: Optional[Dict[int, int]] = None
    reduce_zero_label: bool = False


def blank_lines(ann_file: str) -> List[int]:
    """The 1-based numbers of the lines of ``ann_file`` that MMSeg reads as
    an image without a name (blank or white space only)."""
    return [
        i + 1 for i, line in enumerate(mmengine.list_from_file(ann_file))
        if not line.strip()
    ]


def check_ann_file(ann_file: str) -> None:
    """A ``ValueError`` naming the blank lines of ``ann_file``, if any."""
    blank = blank_lines(ann_file)
    if blank:
        raise ValueError(
            f'Split file {ann_file} has {len(blank)} blank line(s) (line '
            f'{", ".join(map(str, blank[:MAX_NAMED]))}), which MMSeg reads as '
            'images without a name; delete them.')


@contextmanager
def naming_file(data_info: dict) -> Iterator[None]:
    """Re-raise an error of reading one sample as a ``RuntimeError`` that
    names its files (``img_path`` and ``seg_map_path``)."""
    try:
        yield
    except Exception as e:
        files = ', '.join(
            str(data_info[k]) for k in ('img_path', 'seg_map_path')
            if data_info.get(k))
        raise RuntimeError(f'Reading {files or data_info} failed: '
                           f'{type(e).__name__}: {e}') from e


def file_entries(dataset: BaseDataset, name: str) -> Iterator[FileEntry]:
    """The files of ``dataset`` (MMSeg datasets, inside MMEngine's and
    mmseg_sb's wrappers) with the labels each reads; ``name`` says where the
    dataset is in the config."""
    if isinstance(dataset, ConcatDataset):
        for i, part in enumerate(dataset.datasets):
            yield from file_entries(part, f'{name}.datasets[{i}]')
    elif isinstance(dataset, (RepeatDataset, ClassBalancedDataset)):
        yield from file_entries(dataset.dataset, f'{name}.dataset')
    elif isinstance(dataset, PseudoLabeledDataset):
        dataset.full_init()
        yield from _seg_entries(dataset.dataset, f'{name}.dataset', False,
                                dataset.gt_dir)
    elif isinstance(dataset, BaseSegDataset):
        yield from _seg_entries(dataset, name,
                                _loads_annotations(dataset.pipeline))
    else:
        raise TypeError(f'{name} is a {type(dataset).__name__}, whose files '
                        'cannot be checked; skip the check with '
                        'default_hooks.check_inputs=None.')


def _seg_entries(dataset: BaseSegDataset,
                 name: str,
                 reads_labels: bool,
                 gt_dir: Optional[str] = None) -> Iterator[FileEntry]:
    """The entries of an MMSeg dataset; labels from its ``seg_map_path`` if
    ``reads_labels``, else from ``gt_dir`` (its images' ground truth) if
    given."""
    dataset.full_init()
    source = f'{name} ({type(dataset).__name__}, ann_file ' \
        f'{dataset.ann_file or "none"})'
    img_dir = dataset.data_prefix.get('img_path', '')
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        seg_map_path = info.get('seg_map_path') if reads_labels else None
        if gt_dir is not None:
            rel = osp.relpath(info['img_path'], img_dir)
            seg_map_path = osp.join(
                gt_dir,
                rel[:-len(dataset.img_suffix)] + dataset.seg_map_suffix)
        yield FileEntry(info['img_path'], seg_map_path, source,
                        len(dataset.metainfo['classes']), dataset.ignore_index,
                        info.get('label_map'),
                        info.get('reduce_zero_label', False))


def _loads_annotations(transform) -> bool:
    """Whether a pipeline (or a transform wrapping others, such as
    ``Compose``, ``RandomApply`` or :class:`MultiView`) loads annotations."""
    if isinstance(transform, LoadAnnotations):
        return True
    children = getattr(transform, 'transforms', None)
    if children is None and isinstance(
            getattr(transform, 'views', None), dict):
        children = transform.views.values()
    if isinstance(children, (list, tuple)) or hasattr(children, 'values'):
        return any(_loads_annotations(t) for t in children)
    return False


def check_entry(entry: FileEntry, decode: bool = True) -> Optional[str]:
    """What is wrong with one entry's files (None if nothing)."""
    paths = [(entry.img_path, False)]
    if entry.seg_map_path is not None:
        paths.append((entry.seg_map_path, True))
    for path, is_label in paths:
        if not osp.isfile(path):
            return f'{path} does not exist'
        if not decode:
            continue
        try:
            with open(path, 'rb') as f:
                content = f.read()
            if is_label:
                values = mmcv.imfrombytes(
                    content, flag='unchanged', backend='pillow')
            else:
                values = mmcv.imfrombytes(content, flag='color')
        except Exception as e:  # each decoder raises its own
            return f'{path} cannot be decoded ({type(e).__name__}: {e})'
        if values is None:
            return f'{path} cannot be decoded'
        if is_label:
            problem = _label_problem(values, entry)
            if problem:
                return f'{path} {problem}'
    return None


def _label_problem(label: np.ndarray, entry: FileEntry) -> Optional[str]:
    """What is wrong with a decoded label file: more than one channel, or
    values beyond the classes (:func:`values_out_of_range`)."""
    label = label.squeeze()
    if label.ndim != 2:
        return (f'has {label.shape[-1]} channels; a label file holds one '
                'class id per pixel')
    bad = values_out_of_range(label, entry)
    if not bad:
        return None
    return (f'has label values {bad[:10]}, outside the {entry.num_classes} '
            f'classes (0 to {entry.num_classes - 1}) and the ignore index '
            f'{entry.ignore_index}')


def values_out_of_range(label: np.ndarray, entry: FileEntry) -> List[int]:
    """The values stored in ``label`` that are no class or ignore index
    once ``LoadAnnotations`` has read them (``uint8``,
    ``reduce_zero_label``, then ``label_map``), sorted."""
    mapped = np.arange(256, dtype=np.uint8)  # what each stored value becomes
    if entry.reduce_zero_label:
        mapped[0] = 255
        mapped = mapped - 1
        mapped[mapped == 254] = 255
    if entry.label_map is not None:
        copy = mapped.copy()
        for old_id, new_id in entry.label_map.items():
            mapped[copy == old_id] = new_id
    stored = np.flatnonzero(np.bincount(label.astype(np.uint8).ravel()))
    return [
        int(v) for v in stored
        if mapped[v] >= entry.num_classes and mapped[v] != entry.ignore_index
    ]


def check_dataset_files(datasets: List[Tuple[str, BaseDataset]],
                        decode: bool = True,
                        num_workers: int = 8) -> int:
    """Check the files of each ``(name, dataset)``; raise a ``ValueError``
    that names every bad file (up to :data:`MAX_NAMED`), where it is listed
    and the fixes.

    Returns:
        int: The number of files checked.
    """
    entries: Dict[Tuple[str, Optional[str]], FileEntry] = {}
    ann_files = set()
    for name, dataset in datasets:
        for entry in file_entries(dataset, name):
            entries.setdefault((entry.img_path, entry.seg_map_path), entry)
        ann_files.update(_ann_files(dataset))
    for ann_file in sorted(ann_files):
        check_ann_file(ann_file)
    with ThreadPoolExecutor(max(num_workers, 1)) as pool:
        problems = [(e, p) for e, p in zip(
            entries.values(),
            pool.map(lambda e: check_entry(e, decode), entries.values()))
                    if p is not None]
    if problems:
        named = '\n'.join(f'  {p} (listed in {e.source})'
                          for e, p in problems[:MAX_NAMED])
        more = len(problems) - MAX_NAMED
        raise ValueError(
            f'{len(problems)} of {len(entries)} training files are bad:\n'
            f'{named}' + (f'\n  and {more} more' if more > 0 else '') +
            '\nReplace these files, or drop them from their split files '
            '(tools/splits.py check finds them too).')
    return sum(1 + (e.seg_map_path is not None) for e in entries.values())


def _ann_files(dataset) -> Iterator[str]:
    """The ann_files of the MMSeg datasets inside ``dataset``."""
    for part in getattr(dataset, 'datasets', ()):
        yield from _ann_files(part)
    inner = getattr(dataset, 'dataset', None)
    if inner is not None:
        yield from _ann_files(inner)
    ann_file = getattr(dataset, 'ann_file', None)
    if isinstance(dataset, BaseSegDataset) and ann_file and \
            osp.isfile(ann_file):
        yield ann_file
