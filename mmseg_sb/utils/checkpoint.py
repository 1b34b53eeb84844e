# Copyright (c) mmseg_sb contributors. All rights reserved.
"""Safe loading of MMEngine checkpoints with torch >= 2.6.

torch 2.6 made ``torch.load(weights_only=True)`` the default, and MMEngine
0.10.7 calls ``torch.load`` without the argument, so ``--resume`` fails on the
non-tensor objects of its own checkpoints (the message hub's history buffers,
numpy scalars and arrays). Rather than turning the check off for every file,
:func:`load_from_local` keeps ``weights_only=True`` and allow-lists exactly the
types MMEngine writes into a checkpoint; any other object still makes loading
fail. It replaces MMEngine's loader for local paths when mmseg_sb is imported.
"""
import os.path as osp
import pickle
from typing import Callable, List, Optional

import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.runner import CheckpointLoader

#: The statistics methods every HistoryBuffer registers when it is built.
_DEFAULT_STATISTICS = ('min', 'max', 'current', 'mean')


def history_buffer_method(owner: type, name: str) -> Callable:
    """A restricted ``getattr`` for unpickling: only the statistics methods
    of :class:`HistoryBuffer` (which MMEngine's message hub pickles as
    ``getattr(HistoryBuffer, 'mean')``).

    Raises:
        pickle.UnpicklingError: For any other object or attribute.
    """
    allowed = _DEFAULT_STATISTICS + tuple(HistoryBuffer._statistics_methods)
    if owner is HistoryBuffer and name in allowed:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'Refusing getattr({owner!r}, {name!r}) while loading a checkpoint:'
        ' only HistoryBuffer statistics methods are allowed.')


def mmengine_checkpoint_globals() -> List[object]:
    """The non-tensor globals found in MMEngine checkpoints (message hub,
    metadata, dataset meta): ``HistoryBuffer`` and its statistics methods,
    numpy's array, dtype and scalar reconstruction."""
    dtype_classes = [type(np.dtype(t)) for t in np.typecodes['All']]
    try:
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import _reconstruct, scalar
    return [
        HistoryBuffer, np.ndarray, np.dtype, _reconstruct, scalar,
        (history_buffer_method, '__builtin__.getattr'),
        (history_buffer_method, 'builtins.getattr')
    ] + dtype_classes


def load_from_local(filename: str, map_location: Optional[str] = None) -> dict:
    """Load a local checkpoint with ``weights_only=True`` and MMEngine's own
    types allowed.

    Args:
        filename (str): Local checkpoint file path.
        map_location (str, optional): Same as :func:`torch.load`.

    Returns:
        dict: The loaded checkpoint.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    if not hasattr(torch.serialization, 'safe_globals'):  # torch < 2.4
        return torch.load(filename, map_location=map_location)
    with torch.serialization.safe_globals(mmengine_checkpoint_globals()):
        return torch.load(
            filename, map_location=map_location, weights_only=True)


def register_checkpoint_loader() -> None:
    """Make :func:`load_from_local` MMEngine's loader for local paths."""
    CheckpointLoader.register_scheme(
        prefixes='', loader=load_from_local, force=True)
