# Copyright (c) mmseg_sb contributors. All rights reserved.
"""Export a trained model as a plain MMSeg model.

Each class owns its plain form: a segmentor of this package declares the
MMSeg type it exports to, drops the constructor keys and buffers it adds,
and has every DSBN (``<bn>.main.*``, ``<bn>.aux.*``) converted back to the
norm layer it replaced, holding the ``main`` branch (the one evaluation
uses); see ``SemiSegmentorMixin``. This module combines them: the exported
model runs in a process with only MMSeg installed exactly as the trained
model runs in eval mode. A segmentor type without a plain form (MMSeg's own,
or a user's) is exported as it is.
"""
import copy
import hashlib
import os
import os.path as osp
from typing import Any, Dict

import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmseg.registry import MODELS
from ..engine.rounds import ROUND_INFO
from ..models.layers import DSBN
from ..utils import iter_dicts, read_checkpoint
from ..utils.checkpoint import shape_mismatches

#: Top-level config keys kept in the exported config: what MMSeg's inference
#: API and tools/test.py read.
INFERENCE_KEYS = ('default_scope', 'env_cfg', 'log_level', 'log_processor',
                  'vis_backends', 'visualizer', 'default_hooks', 'crop_size',
                  'dataset_type', 'data_root', 'test_pipeline', 'val_cfg',
                  'val_dataloader', 'val_evaluator', 'test_cfg',
                  'test_dataloader', 'test_evaluator', 'img_ratios',
                  'tta_pipeline', 'tta_model')


def _segmentor_class(model_cfg: dict) -> Any:
    """The registered class of ``model_cfg['type']`` (None if unknown)."""
    model_type = model_cfg['type']
    return model_type if isinstance(model_type,
                                    type) else MODELS.get(model_type)


def plain_model_cfg(model_cfg: dict) -> dict:
    """The plain MMSeg model config of ``model_cfg``, from its class's
    ``plain_model_cfg`` if it has one; DSBN norm configs made plain in any
    case."""
    cls = _segmentor_class(model_cfg)
    if hasattr(cls, 'plain_model_cfg'):
        return cls.plain_model_cfg(model_cfg)
    return DSBN.plain_norm_cfg(copy.deepcopy(model_cfg))


def plain_state_dict(
        model_cfg: dict, state: Dict[str,
                                     torch.Tensor]) -> Dict[str, torch.Tensor]:
    """The state dict of the plain model of ``model_cfg``, from its class's
    ``plain_state_dict`` if it has one; DSBN branches converted in any
    case."""
    cls = _segmentor_class(model_cfg)
    if hasattr(cls, 'plain_state_dict'):
        return cls.plain_state_dict(state)
    return DSBN.plain_state_dict(state)


def _own_types(cfg: Any, own: set) -> set:
    """The ``type`` names in ``own`` (this package's registered names)
    used in ``cfg``."""
    return {
        d['type']
        for d in iter_dicts(cfg)
        if isinstance(d.get('type'), str) and d['type'] in own
    }


def plain_config(cfg: Config) -> Config:
    """A self-contained MMSeg config of the same network for inference and
    evaluation: ``EncoderDecoder``, plain norm layers, the run's test
    pipeline, ``test_cfg``, dataloaders and evaluators; no training keys and
    no component of this package."""
    model = plain_model_cfg(cfg.model.to_dict())
    out = {
        key: copy.deepcopy(cfg[key])
        for key in INFERENCE_KEYS if key in cfg
    }
    out['model'] = model
    from .. import registered_names
    own = registered_names()
    if 'default_hooks' in out:
        # Training hooks of this package (the rounds) have no place in it.
        out['default_hooks'] = {
            name: hook
            for name, hook in out['default_hooks'].items()
            if not _own_types(hook, own)
        }
    left = _own_types(out, own)
    if left:
        raise ValueError(
            f'The exported config would still need mmseg_sb for {left}; '
            'replace them with MMSeg components in the config first.')
    return Config(out)


def check_out_dir(out_dir: str) -> None:
    """Raise a ``NotADirectoryError`` naming the file if ``out_dir``, or a
    folder it would be made in, is a file."""
    path = osp.abspath(out_dir)
    while not osp.exists(path):
        path = osp.dirname(path)
    if not osp.isdir(path):
        raise NotADirectoryError(
            f'Cannot export into {out_dir}: {path} is a file. Choose a folder '
            '(an existing one, or a new one to be made) for the export.')


def weights_mismatch(model: nn.Module, state: Dict[str, Any]) -> str:
    """How ``state`` differs from the weights of ``model``, by a strict load
    into it (that goes on past the weights of another shape).

    Args:
        model (nn.Module): The network.
        state (dict[str, Any]): Its weights, perhaps.

    Returns:
        str: The missing and unexpected keys and the keys of another shape,
        counted, with examples; ``''`` if there are none.
    """

    def shown(shape):
        return 'no tensor' if shape is None else list(shape)

    reshaped = shape_mismatches(state, model.state_dict())
    reshaped_keys = {k for k, _, _ in reshaped}
    fitting = {k: v for k, v in state.items() if k not in reshaped_keys}
    missing, unexpected = model.load_state_dict(fitting, strict=False)
    another_shape = [
        f'{k} is {shown(a)}, not {shown(b)}' for k, a, b in reshaped
    ]
    problems = {
        'missing keys': [k for k in missing if k not in reshaped_keys],
        'unexpected keys': unexpected,
        'keys of another shape': another_shape
    }
    return ', '.join(f'{len(keys)} {what} (e.g. {keys[:3]})'
                     for what, keys in problems.items() if keys)


def export_model(cfg: Config, checkpoint: str, out_dir: str) -> str:
    """Export a checkpoint file (see :func:`export_state`).

    Raises:
        FileNotFoundError: If ``checkpoint`` does not exist.
        ValueError: If it is no checkpoint (see
            :func:`mmseg_sb.utils.read_checkpoint`), or its weights are not
            those of the config's network.
        NotADirectoryError: If ``out_dir`` is a file.
    """
    loaded = read_checkpoint(checkpoint)
    return export_state(
        cfg,
        loaded['state_dict'],
        out_dir,
        source=osp.abspath(checkpoint),
        round=loaded['runtime_info'].get(ROUND_INFO),
        iteration=loaded['meta'].get('iter'))


def export_state(cfg: Config, state: Dict[str, torch.Tensor], out_dir: str,
                 **meta) -> str:
    """Write ``out_dir/model-<sha256[:8]>.pth`` (MMSeg's ``publish_model``
    naming, with ``model.pth`` linked to it) and ``out_dir/config.py``;
    returns the checkpoint's path.

    The checkpoint holds ``state_dict`` and ``meta`` (the source config and
    ``meta``: e.g. source checkpoint, round and iteration). The weights are
    checked against the exported config by a strict load into the network
    it builds, so the weights of another network fail here with the keys
    that do not match.

    Raises:
        ValueError: If ``cfg`` has no model, or ``state`` does not match its
            network.
        NotADirectoryError: If ``out_dir`` is a file.
    """
    config = f'the config {cfg.filename or "given in memory"}'
    if 'model' not in cfg:
        raise ValueError(f'{config.capitalize()} has no model; pass the '
                         'config the checkpoint was trained with.')
    check_out_dir(out_dir)
    checkpoint = meta.get('source', 'the model')
    state = plain_state_dict(cfg.model, state)
    plain = plain_config(cfg)
    init_default_scope(plain.get('default_scope', 'mmseg'))
    model_cfg = copy.deepcopy(plain.model)
    model_cfg.pop('pretrained', None)
    model_cfg['backbone'].pop('init_cfg', None)
    mismatch = weights_mismatch(MODELS.build(model_cfg), state)
    if mismatch:
        raise ValueError(
            f'The weights of {checkpoint} do not match the network of '
            f'{config}: {mismatch}. Export with the config the checkpoint '
            'was trained with (the .py in its work dir).')
    os.makedirs(out_dir, exist_ok=True)
    tmp = osp.join(out_dir, 'model.pth.tmp')
    torch.save(
        dict(
            meta=dict(
                source_config=osp.abspath(cfg.filename)
                if cfg.filename else None,
                **meta),
            state_dict=state), tmp)
    with open(tmp, 'rb') as f:
        digest = hashlib.sha256(f.read()).hexdigest()[:8]
    name = f'model-{digest}.pth'
    os.replace(tmp, osp.join(out_dir, name))
    link = osp.join(out_dir, 'model.pth')
    if osp.lexists(link):
        os.remove(link)
    os.symlink(name, link)
    plain.dump(osp.join(out_dir, 'config.py'))
    return osp.join(out_dir, name)
