# Copyright (c) mmseg_sb contributors. All rights reserved.
"""The completion protocol of a pseudo-label round folder, defined once.

:class:`mmseg_sb.engine.PseudoLabeler` writes every label file of a round
first and then, atomically, the folder's marker holding the round's
statistics and its :class:`LabelProvenance` (what made the labels). A folder
without its marker is partial: the hook relabels it and
:class:`mmseg_sb.datasets.PseudoLabeledDataset` refuses to read it. A marker
without a provenance (written by hand, or by an older version) is foreign:
the hook does not trust its labels.
"""
import dataclasses
import hashlib
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

import torch

#: File that marks a pseudo-label round as complete (with its statistics).
COMPLETE_MARKER = 'round_complete.json'
#: Folder of the rounds' labels under a run's work dir.
PSEUDO_LABEL_DIR = 'pseudo_labels'
#: Key of the provenance in the marker, beside the statistics.
PROVENANCE_KEY = 'provenance'
#: What a label file holds (PseudoLabelMetric writes it): one PNG per image,
#: a uint8 train id per pixel. Change it when that changes, so that the
#: rounds of older versions are relabeled.
LABEL_ENCODING = 'png, uint8 train ids'


def label_encoding(reduce_zero_label: bool) -> str:
    """What a pseudo-label file of a dataset holds: :data:`LABEL_ENCODING`,
    or train ids + 1 where its labels are read with ``reduce_zero_label``
    (0 is ignored)."""
    return LABEL_ENCODING + (' + 1 (reduce_zero_label: 0 is ignored)'
                             if reduce_zero_label else '')


def round_dir(work_dir: str, r: int) -> str:
    """The folder of the pseudo labels that round ``r`` of the run in
    ``work_dir`` trains on: ``work_dir/pseudo_labels/round_<r>``."""
    return osp.join(work_dir, PSEUDO_LABEL_DIR, f'round_{r}')


def is_complete_round(label_dir: str) -> bool:
    """Whether the round in ``label_dir`` has all its labels (its marker
    exists)."""
    return osp.isfile(osp.join(label_dir, COMPLETE_MARKER))


def _read_marker(label_dir: str) -> dict:
    with open(osp.join(label_dir, COMPLETE_MARKER)) as f:
        return json.load(f)


def read_round_stats(label_dir: str) -> dict:
    """The statistics stored in the marker of the complete round in
    ``label_dir`` (without its provenance)."""
    marker = _read_marker(label_dir)
    marker.pop(PROVENANCE_KEY, None)
    return marker


def mark_round_complete(
        label_dir: str,
        stats: dict,
        provenance: Optional['LabelProvenance'] = None) -> None:
    """Write the marker of ``label_dir`` atomically, holding ``stats`` and,
    if given, ``provenance``.

    Call it only after every label file of the round exists.
    """
    marker = osp.join(label_dir, COMPLETE_MARKER)
    content = dict(stats)
    if provenance is not None:
        content[PROVENANCE_KEY] = dataclasses.asdict(provenance)
    with open(marker + '.tmp', 'w') as f:
        json.dump(content, f, indent=2)
    os.replace(marker + '.tmp', marker)


def read_round_provenance(label_dir: str) -> Optional['LabelProvenance']:
    """The provenance in the marker of ``label_dir``; None if the marker is
    missing, unreadable or has none (a foreign marker)."""
    try:
        found = _read_marker(label_dir).get(PROVENANCE_KEY)
        return LabelProvenance(**found)
    except (OSError, ValueError, TypeError, AttributeError):
        return None


def state_dict_hash(state_dict: Dict[str, torch.Tensor]) -> str:
    """SHA-256 of a state dict's contents: every entry's name, dtype, shape
    and bytes, in sorted key order, copied to the CPU one tensor at a time.

    One pass over the weights, about 1.6 GB/s on a CPU with SHA extensions:
    the state dict of a DeepLabV3+ ResNet-101 (60.6M values, 231 MB in
    fp32) took 0.15 s on one core of an AMD EPYC, plus the device-to-host
    copies of a model on a GPU; labeling a round takes minutes.
    """
    digest = hashlib.sha256()
    for key in sorted(state_dict):
        value = state_dict[key]
        if not isinstance(value, torch.Tensor):
            digest.update(f'{key}={value!r};'.encode())
            continue
        tensor = value.detach().cpu().contiguous().reshape(-1)
        digest.update(f'{key}:{tensor.dtype}:{tuple(value.shape)};'.encode())
        digest.update(tensor.view(torch.uint8).numpy())
    return digest.hexdigest()


def paths_hash(paths: Sequence[str]) -> str:
    """SHA-256 of an ordered list of paths."""
    return hashlib.sha256('\n'.join(paths).encode()).hexdigest()


def _plain(value):
    """``value`` as it reads back from the marker's JSON (tuples as lists,
    other objects by their text)."""
    return json.loads(json.dumps(value, sort_keys=True, default=str))


@dataclasses.dataclass(frozen=True)
class LabelProvenance:
    """What made the labels of a round; two rounds with equal provenance
    hold the same labels.

    Args:
        weights (str, optional): :func:`state_dict_hash` of the labeling
            model; None where it is not known.
        num_images (int): Number of images labeled.
        images (str): :func:`paths_hash` of the ordered image paths.
        tta (bool): Whether MMSeg's test-time augmentation was used.
        pipeline (list[dict]): The labeling pipeline config.
        seg_map_suffix (str): Suffix of the label files.
        label_encoding (str): What a label file holds
            (:data:`LABEL_ENCODING`).
        teacher_checkpoint (str, optional): The file the labeling model was
            loaded from, if any. A record, not compared: the weights' hash
            is what identifies them. Defaults to None.
    """

    weights: Optional[str]
    num_images: int
    images: str
    tta: bool
    pipeline: list
    seg_map_suffix: str
    label_encoding: str = LABEL_ENCODING
    teacher_checkpoint: Optional[str] = dataclasses.field(
        default=None, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, 'pipeline', _plain(self.pipeline))

    def mismatches(self, found: Optional['LabelProvenance']) -> List[str]:
        """The fields of ``found`` (a marker's provenance) that differ from
        this one, each as ``'name (marker: x, expected: y)'``; one entry if
        ``found`` is None (a foreign marker); empty if they match. A field
        not known here (None) matches nothing."""
        if found is None:
            return [
                f'{PROVENANCE_KEY} (the marker records none: it was written '
                'by another program or an older version)'
            ]
        return [
            f'{f.name} (marker: {_short(getattr(found, f.name))}, '
            f'expected: {_short(getattr(self, f.name))})'
            for f in dataclasses.fields(self)
            if f.compare and (getattr(self, f.name) is None or getattr(
                found, f.name) != getattr(self, f.name))
        ]


def _short(value) -> str:
    """A value for a message: hashes cut to 12 characters, configs to
    80."""
    if value is None:
        return 'not recorded'
    text = value if isinstance(value, str) else json.dumps(value)
    if isinstance(value, str) and len(value) == 64:  # a SHA-256
        return value[:12]
    return text if len(text) <= 80 else text[:77] + '...'
