# Copyright (c) mmseg_sb contributors. All rights reserved.
import copy
import inspect
import math
from numbers import Real
from typing import Any, Dict, Sequence, Tuple

from mmseg.utils import OptConfigType
from ..data_preprocessors import MultiViewDataPreProcessor
from ..layers import DSBN
from ..utils import check_decode_head


class SemiSegmentorMixin:
    """What every segmentor of this package declares beside its MMSeg base:
    its name, its options and its plain MMSeg form.

    The options of the method live in one constructor argument,
    ``semi_train_cfg`` (as in MMDetection's ``SemiBaseDetector``), read by
    :meth:`parse_semi_train_cfg` over the class's
    ``default_semi_train_cfg``. Losses are logged as ``sup.<head>.loss_*``
    and ``unsup.loss_<term>``, weighted by
    :func:`mmseg_sb.models.utils.reweight_loss_dict`. Training batches are
    views (:class:`mmseg_sb.datasets.MultiView`), so the model's
    ``data_preprocessor`` is wrapped in a :class:`MultiViewDataPreProcessor`,
    which passes plain batches (validation, test) through unchanged.

    The plain form is what export to plain MMSeg writes: a model config
    (:meth:`plain_model_cfg`) and a state dict (:meth:`plain_state_dict`)
    that MMSeg's own :attr:`plain_type` loads with ``strict=True`` and runs
    exactly as this segmentor runs in eval mode.

    Attributes:
        plain_type (str): The MMSeg segmentor type the model exports to.
        method_name (str): The method's name in comparison tables.
        method_keys (tuple[str]): Constructor keys the class adds over
            :attr:`plain_type`; dropped from the plain model config.
        extra_state_keys (tuple[str]): State-dict keys the class adds over
            :attr:`plain_type` (buffers); dropped from the plain state dict.
        teacher_optional_keys (tuple[str]): State-dict keys a supervised
            (teacher) checkpoint lacks; a teacher may load without them.
        default_semi_train_cfg (dict): Every key of ``semi_train_cfg`` with
            its default.
        trains_mask_heads (bool): Whether the method trains
            mask-classification decode heads (Mask2Former), which give no
            per-pixel logits; others refuse them when built.
    """

    plain_type: str = 'EncoderDecoder'
    method_name: str = ''
    method_keys: Tuple[str, ...] = ('semi_train_cfg', )
    extra_state_keys: Tuple[str, ...] = ()
    teacher_optional_keys: Tuple[str, ...] = ()
    default_semi_train_cfg: Dict[str, Any] = {}
    trains_mask_heads: bool = False

    def __init__(self,
                 data_preprocessor: OptConfigType = None,
                 **kwargs) -> None:
        self._check_plain_kwargs(kwargs)
        super().__init__(
            data_preprocessor=MultiViewDataPreProcessor.wrap_cfg(
                data_preprocessor),
            **kwargs)
        if not self.trains_mask_heads:
            check_decode_head(type(self).__name__, self.decode_head)

    def _check_plain_kwargs(self, kwargs: dict) -> None:
        """A ``TypeError`` naming what the model config has that MMSeg's
        :attr:`plain_type` (this segmentor's base) does not take: a model
        of another segmentor type, which is not supported yet."""
        if 'num_stages' in kwargs or isinstance(
                kwargs.get('decode_head'), (list, tuple)):
            kind = ('a CascadeEncoderDecoder (num_stages, a list of decode '
                    'heads: OCRNet, PointRend)')
        else:
            base = next(
                c for c in type(self).__mro__[1:]
                if c.__name__ == self.plain_type)
            unknown = sorted(
                set(kwargs) - set(inspect.signature(base).parameters))
            if not unknown:
                return
            kind = (f'of another segmentor type (it has {unknown}, e.g. '
                    "SAN's MultimodalEncoderDecoder)")
        raise TypeError(
            f'{type(self).__name__} builds on MMSeg\'s {self.plain_type}, '
            f'and this model is {kind}, which it does not support yet. Train '
            f'a model of {self.plain_type} with one decode head, e.g. '
            'DeepLabV3+.')

    @classmethod
    def plain_model_cfg(cls, model_cfg: dict) -> dict:
        """A deep copy of ``model_cfg`` with ``type`` = :attr:`plain_type`,
        without :attr:`method_keys`, with plain norm layers in place of DSBN
        (:meth:`DSBN.plain_norm_cfg`) and the preprocessor that
        :class:`MultiViewDataPreProcessor` wraps."""
        cfg = copy.deepcopy(model_cfg)
        cfg['type'] = cls.plain_type
        for key in cls.method_keys:
            cfg.pop(key, None)
        if 'data_preprocessor' in cfg:
            cfg['data_preprocessor'] = MultiViewDataPreProcessor.plain_cfg(
                cfg['data_preprocessor'])
        return DSBN.plain_norm_cfg(cfg)

    @classmethod
    def plain_state_dict(cls, state: Dict[str, Any]) -> Dict[str, Any]:
        """``state`` with plain norm layers in place of DSBN
        (:meth:`DSBN.plain_state_dict`) and without
        :attr:`extra_state_keys`."""
        return {
            key: value
            for key, value in DSBN.plain_state_dict(state).items()
            if key not in cls.extra_state_keys
        }

    @classmethod
    def parse_semi_train_cfg(cls,
                             semi_train_cfg: OptConfigType) -> Dict[str, Any]:
        """``default_semi_train_cfg`` updated with ``semi_train_cfg``.

        Raises:
            TypeError: If ``semi_train_cfg`` is neither None nor a dict.
            ValueError: Naming the keys of ``semi_train_cfg`` the class
                does not know.
        """
        defaults = cls.default_semi_train_cfg
        if semi_train_cfg is None:
            semi_train_cfg = {}
        if not isinstance(semi_train_cfg, dict):
            raise TypeError(
                f'{cls.__name__} semi_train_cfg must be a dict, got '
                f'{semi_train_cfg!r}; e.g. semi_train_cfg={defaults}.')
        unknown = sorted(set(semi_train_cfg) - set(defaults))
        if unknown:
            raise ValueError(
                f'{cls.__name__} semi_train_cfg got unknown keys {unknown}; '
                f'valid keys are {sorted(defaults)}.')
        cfg = copy.deepcopy(defaults)
        cfg.update(copy.deepcopy(dict(semi_train_cfg)))
        return cfg

    @classmethod
    def check_number(cls,
                     key: str,
                     value: Any,
                     low: float = 0.,
                     high: float = math.inf,
                     open_low: bool = False,
                     open_high: bool = True,
                     hint: str = '') -> None:
        """Check that ``semi_train_cfg[key]`` is a number in an interval,
        ``[0, inf)`` unless told.

        Raises:
            TypeError: If ``value`` is not a number.
            ValueError: If it is outside the interval; the message names
                the interval and ends with ``hint``.
        """
        if isinstance(value, bool) or not isinstance(value, Real):
            raise TypeError(f'{cls.__name__} semi_train_cfg {key}={value!r} '
                            'must be a number.')
        above = value > low if open_low else value >= low
        below = value < high if open_high else value <= high
        if not (above and below):
            left, right = '(' if open_low else '[', ')' if open_high else ']'
            raise ValueError(
                f'{cls.__name__} semi_train_cfg {key}={value} must be in '
                f'{left}{low:g}, {high:g}{right}{hint}.')

    @classmethod
    def check_term_weights(cls, key: str, weights: Any, terms: Sequence[str],
                           required: Sequence[str], example: dict) -> None:
        """Check that ``semi_train_cfg[key]`` is a dict of one weight (a
        number >= 0) per term, over ``terms`` and with all of ``required``.

        Raises:
            TypeError: If ``weights`` is not a dict or a weight not a number.
            ValueError: Naming the unknown and missing terms, or a negative
                weight.
        """
        if not isinstance(weights, dict):
            raise TypeError(
                f'{cls.__name__} semi_train_cfg {key}={weights!r} must be a '
                f'dict of one weight per term, e.g. {example}.')
        unknown = sorted(set(weights) - set(terms))
        missing = [term for term in required if term not in weights]
        if unknown or missing:
            raise ValueError(
                f'{cls.__name__} semi_train_cfg {key}={weights} has unknown '
                f'terms {unknown} and lacks {missing}; its terms are '
                f'{list(terms)}, of which {list(required)} are needed, e.g. '
                f'{example}.')
        for term, weight in weights.items():
            cls.check_number(f'{key}.{term}', weight)
