# Copyright (c) mmseg_sb contributors. All rights reserved.
"""The completion protocol of a pseudo-label round folder, defined once.

:class:`mmseg_sb.engine.PseudoLabeler` writes every label file of a round
first and then, atomically, the folder's marker holding the round's
statistics. A folder without its marker is partial: the hook relabels it and
:class:`mmseg_sb.datasets.PseudoLabeledDataset` refuses to read it.
"""
import json
import os
import os.path as osp

#: File that marks a pseudo-label round as complete (with its statistics).
COMPLETE_MARKER = 'round_complete.json'
#: Folder of the rounds' labels under a run's work dir.
PSEUDO_LABEL_DIR = 'pseudo_labels'


def round_dir(work_dir: str, r: int) -> str:
    """The folder of the pseudo labels that round ``r`` of the run in
    ``work_dir`` trains on: ``work_dir/pseudo_labels/round_<r>``."""
    return osp.join(work_dir, PSEUDO_LABEL_DIR, f'round_{r}')


def is_complete_round(label_dir: str) -> bool:
    """Whether the round in ``label_dir`` has all its labels (its marker
    exists)."""
    return osp.isfile(osp.join(label_dir, COMPLETE_MARKER))


def read_round_stats(label_dir: str) -> dict:
    """The statistics stored in the marker of the complete round in
    ``label_dir``."""
    with open(osp.join(label_dir, COMPLETE_MARKER)) as f:
        return json.load(f)


def mark_round_complete(label_dir: str, stats: dict) -> None:
    """Write the marker of ``label_dir`` atomically, holding ``stats``.

    Call it only after every label file of the round exists.
    """
    marker = osp.join(label_dir, COMPLETE_MARKER)
    with open(marker + '.tmp', 'w') as f:
        json.dump(stats, f, indent=2)
    os.replace(marker + '.tmp', marker)
