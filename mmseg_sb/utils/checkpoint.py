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
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn
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


def read_checkpoint(checkpoint: str) -> dict:
    """A checkpoint file as a dict with ``state_dict`` (without DDP's
    ``module.`` prefixes; a bare state dict is taken as one), ``meta`` and
    ``runtime_info`` (the message hub's, empty if the file has none)."""
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(f'Checkpoint {checkpoint} does not exist.')
    try:
        loaded = CheckpointLoader.load_checkpoint(
            checkpoint, map_location='cpu')
    except Exception as e:  # torch.load raises whatever the bytes cause
        raise ValueError(
            f'{checkpoint} is not a readable checkpoint ({type(e).__name__}:'
            f' {e}); it may be cut short or another kind of file. Give the '
            '.pth file that MMEngine saved (work_dir/iter_*.pth).') from e
    state = loaded.get('state_dict', loaded) if isinstance(loaded,
                                                           dict) else None
    if not isinstance(state, dict) or not all(
            isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f'{checkpoint} holds no state dict (a dict of '
                         'tensors, or one under "state_dict"); give a '
                         'checkpoint that MMEngine saved.')
    state = {
        k[len('module.'):] if k.startswith('module.') else k: v
        for k, v in state.items()
    }
    return dict(
        state_dict=state,
        meta=loaded.get('meta', {}),
        runtime_info=loaded.get('message_hub', {}).get('runtime_info', {}))


def load_state_dict(checkpoint: str) -> Tuple[Dict[str, torch.Tensor], dict]:
    """The state dict (without DDP's ``module.`` prefixes) and meta of a
    checkpoint file."""
    loaded = read_checkpoint(checkpoint)
    return loaded['state_dict'], loaded['meta']


def load_teacher(model: nn.Module,
                 path: str,
                 optional_keys: Sequence[str] = ()) -> None:
    """Load a trained teacher's weights into ``model``.

    DDP's ``module.`` prefixes are stripped; a plain-BN checkpoint fills both
    branches of every DSBN. Keys of ``model`` in ``optional_keys`` (buffers
    a supervised checkpoint lacks: the segmentor's ``teacher_optional_keys``)
    may be missing; any other missing or
    unexpected key raises a ``ValueError`` naming them.
    """
    state, _ = load_state_dict(path)
    try:
        missing, unexpected = model.load_state_dict(state, strict=False)
    except RuntimeError as e:
        raise ValueError(f'Teacher checkpoint {path} does not match the '
                         f'model: {e}') from e
    missing = [k for k in missing if k not in optional_keys]
    if missing or unexpected:
        raise ValueError(
            f'Teacher checkpoint {path} does not match the model: '
            f'{len(missing)} missing keys (e.g. {missing[:3]}), '
            f'{len(unexpected)} unexpected keys (e.g. {unexpected[:3]}). '
            'Was it trained with the same model config?')


def shape_mismatches(
    state: Dict[str, Any], model_state: Dict[str, Any]
) -> List[Tuple[str, Optional[Tuple[int, ...]], Optional[Tuple[int, ...]]]]:
    """The weights of ``state`` whose shape differs from the model's weight
    of the same key (keys in only one of them are not compared).

    Args:
        state (dict[str, Any]): A checkpoint's state dict.
        model_state (dict[str, Any]): The model's ``state_dict()``.

    Returns:
        list[tuple[str, tuple | None, tuple | None]]: The key, the shape in
        the checkpoint and the shape in the model, in the order of
        ``state``; a value that is not a tensor has the shape None.
    """

    def shape(value):
        return tuple(value.shape) if torch.is_tensor(value) else None

    return [(k, shape(v), shape(model_state[k])) for k, v in state.items()
            if k in model_state and shape(v) != shape(model_state[k])]


def check_resumable(model: nn.Module, checkpoint: dict,
                    max_iters: Optional[int]) -> Optional[str]:
    """Raise a ``ValueError`` if a run cannot resume from ``checkpoint`` (as
    MMEngine's ``Runner.resume`` has loaded it): a weight of another shape
    (a changed ``num_classes`` or model), or a checkpoint past the run's
    end, ``max_iters``. MMEngine only warns of the first and exits at once,
    without a word, on the second.

    Returns:
        str, optional: A warning for a checkpoint at the run's end (nothing
        is left to train), else None.
    """
    changed = shape_mismatches(
        checkpoint.get('state_dict', {}), model.state_dict())
    if changed:
        shapes = '; '.join(f'{k}: checkpoint {a}, model {b}'
                           for k, a, b in changed[:3])
        raise ValueError(
            f'Cannot resume: {len(changed)} weights of the checkpoint have '
            f'other shapes than the model\'s ({shapes}). A run cannot change'
            ' its model or num_classes; train in a new --work-dir, or start '
            'from these weights with load_from=... without --resume.')
    done = checkpoint.get('meta', {}).get('iter')
    if max_iters is None or done is None or done < max_iters:
        return None
    if done > max_iters:
        raise ValueError(
            f'Cannot resume: the checkpoint is at iteration {done}, past '
            f'the end of the configured run ({max_iters} iterations). '
            'Lengthen the run (its max_iters or round_iters) or train in a '
            'new --work-dir.')
    return (f'The checkpoint is at iteration {done}, the end of the run: '
            'nothing is left to train. Lengthen the run (its max_iters or '
            'round_iters) to train on.')
