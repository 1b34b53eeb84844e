# Copyright (c) mmseg_sb contributors. All rights reserved.
import copy
from contextlib import contextmanager
from typing import Any, Dict, Iterator, Optional

import torch
import torch.nn as nn
from mmcv.cnn import build_norm_layer
from torch import Tensor
from torch.nn.modules.batchnorm import _BatchNorm

from mmseg.registry import MODELS

#: Names of the two branches of a DSBN layer.
MAIN = 'main'
AUX = 'aux'
#: Entries of a BatchNorm state dict, as in a plain-BN checkpoint.
_BN_STATE_KEYS = ('weight', 'bias', 'running_mean', 'running_var',
                  'num_batches_tracked')


@MODELS.register_module()
class DSBN(nn.Module):
    """Distribution-specific batch normalisation.

    Yuan et al., "A Simple Baseline for Semi-supervised Semantic Segmentation
    with Strong Data Augmentation", ICCV 2021, section 3.2. Two batch norms
    with their own affine parameters and running statistics: ``main`` for the
    weakly augmented (clean) distribution and ``aux`` for the strongly
    augmented one. In training, a batch laid out as
    ``[main samples | aux samples]`` goes through one forward pass: the first
    ``num_main`` samples are normalised by ``main``, the rest by ``aux``.
    ``num_main`` is set per forward by :func:`dsbn_split` (a context
    manager); outside it every sample goes through ``main``. Evaluation always
    uses ``main`` only.

    Usable as ``norm_cfg=dict(type='DSBN', norm_cfg=dict(type='SyncBN'))``
    (its state-dict abbreviation is ``bn``, as for a BatchNorm), or built from
    an existing model with :func:`convert_to_dsbn`. A plain-BN state dict
    (an ImageNet backbone, a supervised MMSeg checkpoint) loads into both
    branches; :meth:`plain_state_dict` and :meth:`plain_norm_cfg` give the
    plain model that evaluation runs (the ``main`` branches).

    Args:
        num_features (int): Number of channels.
        norm_cfg (dict): Config of the inner norm layer of each branch, e.g.
            ``dict(type='BN')`` or ``dict(type='SyncBN')``.
            Defaults to ``dict(type='BN')``.
        **kwargs: Extra arguments of the inner norm layer (``eps``,
            ``momentum``, ...), as :func:`mmcv.cnn.build_norm_layer` passes
            them.
    """

    _abbr_ = 'bn'

    def __init__(self,
                 num_features: int,
                 norm_cfg: Optional[dict] = None,
                 **kwargs) -> None:
        super().__init__()
        norm_cfg = dict(type='BN') if norm_cfg is None else dict(norm_cfg)
        norm_cfg.update(kwargs)
        if norm_cfg['type'] == 'DSBN':
            raise ValueError('DSBN cannot nest another DSBN; set its norm_cfg '
                             "to dict(type='BN') or dict(type='SyncBN').")
        _, main = build_norm_layer(norm_cfg, num_features)
        _, aux = build_norm_layer(norm_cfg, num_features)
        if not isinstance(main, _BatchNorm):
            raise TypeError(f'DSBN needs a BatchNorm inner layer, got '
                            f'{type(main).__name__} from {norm_cfg}.')
        self.add_module(MAIN, main)
        self.add_module(AUX, aux)
        self.num_features = num_features
        self.num_main: Optional[int] = None

    @classmethod
    def from_bn(cls, bn: _BatchNorm) -> 'DSBN':
        """Build a DSBN whose two branches are copies of ``bn``."""
        dsbn = cls(bn.num_features)
        dsbn.add_module(MAIN, bn)
        dsbn.add_module(AUX, copy.deepcopy(bn))
        return dsbn

    def forward(self, x: Tensor) -> Tensor:
        """Normalise ``x`` of shape (N, C, ...).

        Returns:
            Tensor: The normalised tensor, same shape as ``x``.
        """
        main, aux = getattr(self, MAIN), getattr(self, AUX)
        if not self.training or self.num_main is None:
            return main(x)
        k = self.num_main
        if not 0 <= k <= x.shape[0]:
            raise ValueError(
                f'DSBN split num_main={k} does not fit a batch of '
                f'{x.shape[0]} samples; the segmentor must put at most '
                'batch-size weak samples first.')
        if k == x.shape[0]:
            return main(x)
        if k == 0:
            return aux(x)
        return torch.cat([main(x[:k]), aux(x[k:])], dim=0)

    def copy_main_to_aux(self) -> None:
        """Make ``aux`` a copy of ``main`` (parameters and statistics)."""
        getattr(self, AUX).load_state_dict(getattr(self, MAIN).state_dict())

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict,
                              missing_keys, unexpected_keys, error_msgs):
        # A plain BatchNorm state dict (``prefix.weight``...) fills both
        # branches; a DSBN state dict loads as usual.
        for key in _BN_STATE_KEYS:
            plain = prefix + key
            if plain in state_dict:
                value = state_dict.pop(plain)
                for branch in (MAIN, AUX):
                    state_dict.setdefault(f'{prefix}{branch}.{key}', value)
        super()._load_from_state_dict(state_dict, prefix, local_metadata,
                                      strict, missing_keys, unexpected_keys,
                                      error_msgs)

    def extra_repr(self) -> str:
        return f'num_features={self.num_features}'

    @staticmethod
    def plain_state_dict(state: Dict[str, Any]) -> Dict[str, Any]:
        """A model's state dict with every DSBN replaced by the plain norm
        layer its ``main`` branch is.

        A DSBN is recognised by its keys: ``<prefix>.main.<k>`` with ``k`` a
        BatchNorm entry and ``<prefix>.aux.<k>`` also present. Its ``main``
        entries are renamed ``<prefix>.<k>``; its ``aux`` entries are
        dropped. Every other entry, and the order, is kept, so a state dict
        without DSBN comes back unchanged.

        Args:
            state (dict[str, Tensor]): A whole model's state dict.

        Returns:
            dict[str, Tensor]: A new dict, loadable into the model built
            from :meth:`plain_norm_cfg` of the model's config.
        """

        def split(key):
            prefix, _, name = key.rpartition('.')
            head, _, branch = prefix.rpartition('.')
            return head, branch, name

        def join(*parts):
            return '.'.join(p for p in parts if p)

        dsbn = set()
        for key in state:
            head, branch, name = split(key)
            if branch == MAIN and name in _BN_STATE_KEYS and \
                    join(head, AUX, name) in state:
                dsbn.add(head)
        plain = {}
        for key, value in state.items():
            head, branch, name = split(key)
            if head in dsbn and branch in (MAIN, AUX) and \
                    name in _BN_STATE_KEYS:
                if branch == MAIN:
                    plain[join(head, name)] = value
                continue
            plain[key] = value
        return plain

    @staticmethod
    def plain_norm_cfg(cfg: Any) -> Any:
        """``cfg`` with every ``dict(type='DSBN', norm_cfg=X, **extra)``
        replaced by ``X`` updated with ``extra`` (the layer each branch is),
        through nested dicts, lists and tuples.

        Args:
            cfg: A config (a model's, a norm layer's) or any value in it.

        Returns:
            A new config of the same types; values without DSBN are copied
            as they are.
        """
        if isinstance(cfg, dict):
            if cfg.get('type') == DSBN.__name__:
                inner = dict(cfg.get('norm_cfg') or dict(type='BN'))
                inner.update({
                    k: v
                    for k, v in cfg.items() if k not in ('type', 'norm_cfg')
                })
                return DSBN.plain_norm_cfg(type(cfg)(inner))
            return type(cfg)({
                k: DSBN.plain_norm_cfg(v)
                for k, v in cfg.items()
            })
        if isinstance(cfg, (list, tuple)):
            return type(cfg)(DSBN.plain_norm_cfg(v) for v in cfg)
        return cfg


def convert_to_dsbn(module: nn.Module) -> nn.Module:
    """Replace every ``_BatchNorm`` of ``module`` by a :class:`DSBN`.

    Both branches of each DSBN start as copies of the original layer
    (affine parameters, running statistics, ``requires_grad``, train/eval
    mode). Layers already inside a DSBN are left as they are.

    Args:
        module (nn.Module): A built model (or a single BatchNorm).

    Returns:
        nn.Module: The converted module; ``module`` itself is modified in
        place unless it is a BatchNorm.
    """
    if isinstance(module, _BatchNorm):
        return DSBN.from_bn(module)
    if isinstance(module, DSBN):
        return module
    for name, child in module.named_children():
        module.add_module(name, convert_to_dsbn(child))
    return module


def dsbn_modules(module: nn.Module) -> Iterator[DSBN]:
    """All DSBN layers of ``module``."""
    return (m for m in module.modules() if isinstance(m, DSBN))


@contextmanager
def dsbn_split(module: nn.Module, num_main: int) -> Iterator[None]:
    """Route the first ``num_main`` samples of every DSBN of ``module``
    through ``main`` and the rest through ``aux``, within the block.

    Example:
        >>> with dsbn_split(model, num_main=2):
        ...     feats = model.extract_feat(inputs)  # [2 weak | N-2 strong]
    """
    layers = list(dsbn_modules(module))
    previous = [layer.num_main for layer in layers]
    for layer in layers:
        layer.num_main = num_main
    try:
        yield
    finally:
        for layer, value in zip(layers, previous):
            layer.num_main = value
