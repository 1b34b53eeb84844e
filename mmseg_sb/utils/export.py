# Copyright (c) mmseg_sb contributors. All rights reserved.
"""Export a trained model as a plain MMSeg model.

A UniMatch or FixMatch checkpoint already has an EncoderDecoder's keys;
only its config changes. A self-training checkpoint holds DSBN layers
(``<bn>.main.*``, ``<bn>.aux.*``) and a
:class:`SemiSupervisedEncoderDecoder`; the exported
model is MMSeg's own :class:`EncoderDecoder` with the plain norm layers the
DSBNs replaced, holding the ``main`` branches (the ones evaluation uses), so
that a process with only MMSeg installed runs it exactly as the
self-training model runs in eval mode.
"""
import copy
import hashlib
import os
import os.path as osp
from typing import Any, Dict

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmseg.registry import MODELS
from .checkpoint import load_state_dict

#: Segmentor types of this package and the MMSeg type they export to.
PLAIN_SEGMENTORS = {
    'SemiSupervisedEncoderDecoder': 'EncoderDecoder',
    'UniMatchEncoderDecoder': 'EncoderDecoder',
    'FixMatchEncoderDecoder': 'EncoderDecoder',
}
#: Model keys that only this package's segmentors know.
SEMI_MODEL_KEYS = ('semi_train_cfg', 'unsup_loss', 'conf_thresh',
                   'feature_dropout', 'loss_weights')
#: Top-level config keys kept in the exported config: what MMSeg's inference
#: API and tools/test.py read.
INFERENCE_KEYS = ('default_scope', 'env_cfg', 'log_level', 'log_processor',
                  'vis_backends', 'visualizer', 'default_hooks', 'crop_size',
                  'dataset_type', 'data_root', 'test_pipeline', 'val_cfg',
                  'val_dataloader', 'val_evaluator', 'test_cfg',
                  'test_dataloader', 'test_evaluator', 'img_ratios',
                  'tta_pipeline', 'tta_model')
#: State-dict entries of a BatchNorm, and the branches of a DSBN.
_BN_KEYS = ('weight', 'bias', 'running_mean', 'running_var',
            'num_batches_tracked')
_MAIN, _AUX = 'main', 'aux'
_DSBN_FLAG = 'dsbn_aux_trained'


def plain_state_dict(
        state: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """DSBN ``main`` branches renamed to the norm layers they replaced; the
    ``aux`` branches and the DSBN flag dropped. A state dict without DSBN is
    returned unchanged."""
    dsbn_prefixes = {
        k.rsplit('.', 2)[0]
        for k in state
        if k.rsplit('.', 2)[1:2] == [_MAIN] and k.rsplit('.', 1)[1] in _BN_KEYS
        and k.replace(f'.{_MAIN}.', f'.{_AUX}.') in state
    }
    plain = {}
    for key, value in state.items():
        if key == _DSBN_FLAG:
            continue
        prefix, branch, name = (key.rsplit('.', 2) + ['', ''])[:3]
        if prefix in dsbn_prefixes and name in _BN_KEYS:
            if branch == _MAIN:
                plain[f'{prefix}.{name}'] = value
            continue  # the aux branch
        plain[key] = value
    return plain


def _plain_norm(cfg: Any) -> Any:
    """Every ``dict(type='DSBN', norm_cfg=X)`` replaced by ``X``."""
    if isinstance(cfg, dict):
        if cfg.get('type') == 'DSBN':
            return _plain_norm(cfg.get('norm_cfg', dict(type='BN')))
        return type(cfg)({k: _plain_norm(v) for k, v in cfg.items()})
    if isinstance(cfg, (list, tuple)):
        return type(cfg)(_plain_norm(v) for v in cfg)
    return cfg


def _own_types(cfg: Any) -> set:
    """The ``type`` names of this package's components used in ``cfg``."""
    from mmseg_sb import registered_names
    own = registered_names()
    found = set()
    if isinstance(cfg, dict):
        if isinstance(cfg.get('type'), str) and cfg['type'] in own:
            found.add(cfg['type'])
        for value in cfg.values():
            found |= _own_types(value)
    elif isinstance(cfg, (list, tuple)):
        for value in cfg:
            found |= _own_types(value)
    return found


def plain_config(cfg: Config) -> Config:
    """A self-contained MMSeg config of the same network for inference and
    evaluation: ``EncoderDecoder``, plain norm layers, the run's test
    pipeline, ``test_cfg``, dataloaders and evaluators; no training keys and
    no component of this package."""
    model = _plain_norm(copy.deepcopy(cfg.model.to_dict()))
    model['type'] = PLAIN_SEGMENTORS.get(model['type'], model['type'])
    for key in SEMI_MODEL_KEYS:
        model.pop(key, None)
    out = {
        key: copy.deepcopy(cfg[key])
        for key in INFERENCE_KEYS if key in cfg
    }
    out['model'] = model
    left = _own_types(out)
    if left:
        raise ValueError(
            f'The exported config would still need mmseg_sb for {left}; '
            'replace them with MMSeg components in the config first.')
    return Config(out)


def export_model(cfg: Config, checkpoint: str, out_dir: str) -> str:
    """Export a checkpoint file (see :func:`export_state`)."""
    state, meta = load_state_dict(checkpoint)
    return export_state(
        cfg,
        state,
        out_dir,
        source=osp.abspath(checkpoint),
        round=meta.get('pseudo_label_hook', {}).get('round'),
        iteration=meta.get('iter'))


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
    """
    checkpoint = meta.get('source', 'the model')
    state = plain_state_dict(state)
    plain = plain_config(cfg)
    init_default_scope(plain.get('default_scope', 'mmseg'))
    model_cfg = copy.deepcopy(plain.model)
    model_cfg.pop('pretrained', None)
    model_cfg['backbone'].pop('init_cfg', None)
    model = MODELS.build(model_cfg)
    try:
        missing, unexpected = model.load_state_dict(state, strict=False)
    except RuntimeError as e:  # shapes differ
        raise ValueError(f'The weights of {checkpoint} do not match the '
                         f'network of the config: {e}') from e
    if missing or unexpected:
        raise ValueError(
            f'The weights of {checkpoint} do not match the network of the '
            f'config: {len(missing)} missing keys (e.g. {missing[:3]}), '
            f'{len(unexpected)} unexpected keys (e.g. {unexpected[:3]}). '
            'Was it trained with this config?')
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
