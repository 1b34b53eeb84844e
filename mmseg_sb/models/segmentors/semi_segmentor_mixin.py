# Copyright (c) mmseg_sb contributors. All rights reserved.
import copy
import inspect
import math
from numbers import Real
from typing import Any, Dict, List, Sequence, Tuple

from torch import Tensor, nn

from mmseg.utils import OptConfigType, SampleList, add_prefix
from ..data_preprocessors import MultiViewDataPreProcessor
from ..layers import DSBN
from ..utils import (check_decode_head, check_loss_fields, decode_stages,
                     samples_points, select_rows, train_logits)
from ..utils.head_outputs import Outputs

#: MMSeg's segmentor type with several decode stages.
CASCADE = 'CascadeEncoderDecoder'


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

    The decode head is read through :meth:`decode_forward`,
    :meth:`decode_logits`, :meth:`decode_sup_losses` and
    :meth:`point_losses`, which run one head or the stages of a
    ``CascadeEncoderDecoder`` (OCRNet, PointRend) alike. Each method has a
    subclass over MMSeg's ``CascadeEncoderDecoder`` (e.g.
    :class:`~mmseg_sb.models.SemiSupervisedCascadeEncoderDecoder`), whose
    :attr:`plain_type` says so: MMSeg's base builds the stages and runs
    inference. The stages run once over a batch, each after the first on the
    previous one's output (MMSeg's ``loss`` runs the first stage twice; the
    losses and gradients are the same). The method reads the per-pixel
    logits of :attr:`logits_head`, the last stage that gives them. A stage
    that samples points (PointRend's point head) gives none in training: it
    is trained with its own loss, on points of those logits.

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
            for head in decode_stages(self):
                check_decode_head(type(self).__name__, head)

    def _check_plain_kwargs(self, kwargs: dict) -> None:
        """A ``TypeError`` naming what the model config has that MMSeg's
        :attr:`plain_type` (this segmentor's base) does not take: a
        ``CascadeEncoderDecoder`` given to a one-head class or the other way
        round (naming the class that trains it), or a model of another
        segmentor type, which is not supported yet."""
        cls = type(self)
        cascade = 'num_stages' in kwargs or isinstance(
            kwargs.get('decode_head'), (list, tuple))
        if cascade != (self.plain_type == CASCADE):
            kind = 'a CascadeEncoderDecoder (num_stages, a list of decode ' \
                'heads: OCRNet, PointRend)' if cascade else \
                'an EncoderDecoder (one decode head)'
            other = next((c for c in (*cls.__subclasses__(), *cls.__bases__)
                          if issubclass(c, SemiSegmentorMixin) and (
                              c.plain_type == CASCADE) == cascade), None)
            fix = f"use type='{other.__name__}'" if other else \
                'it is not supported by this method yet'
            raise TypeError(
                f"{cls.__name__} builds on MMSeg's {self.plain_type}, and "
                f'this model is {kind}: {fix}.')
        base = next(c for c in cls.__mro__[1:]
                    if c.__name__ == self.plain_type)
        unknown = sorted(set(kwargs) - set(inspect.signature(base).parameters))
        if unknown:
            raise TypeError(
                f"{cls.__name__} builds on MMSeg's {self.plain_type}, and "
                f'this model is of another segmentor type (it has {unknown}, '
                "e.g. SAN's MultimodalEncoderDecoder), which it does not "
                f'support yet. Train a model of {self.plain_type}, e.g. '
                'DeepLabV3+.')

    @property
    def logits_head(self) -> nn.Module:
        """The decode stage whose per-pixel logits the method reads (pseudo
        labels, unsupervised losses): the one head, or a cascade's last stage
        that does not sample points (OCRNet's OCR head, PointRend's FPN
        head)."""
        return [h for h in decode_stages(self) if not samples_points(h)][-1]

    def decode_forward(self, x: Sequence[Tensor]) -> List[Outputs]:
        """The training outputs of every decode stage that runs on the
        features ``x``: the one head's, or a cascade's stages', each after
        the first on the previous stage's output (OCRNet's OCR head on its
        FCN head's logits). A stage that samples points in its loss
        (PointRend's point head) runs in :meth:`point_losses`."""
        outputs = []
        for head in decode_stages(self):
            if samples_points(head):
                break
            outputs.append(
                head.forward(x, outputs[-1]) if outputs else head.forward(x))
        return outputs

    def decode_logits(self, outputs: List[Outputs]) -> Tensor:
        """The per-pixel logits (N, C, H, W) of :attr:`logits_head` among
        :meth:`decode_forward`'s ``outputs``
        (:func:`~mmseg_sb.models.utils.train_logits`)."""
        return train_logits(type(self).__name__, self.logits_head, outputs[-1])

    def decode_sup_losses(self, x: Sequence[Tensor], outputs: List[Outputs],
                          rows: Sequence[int],
                          data_samples: SampleList) -> Dict[str, Tensor]:
        """MMSeg's loss of every decode stage on the labeled samples
        ``data_samples``, the rows ``rows`` of the batch that gave ``x`` and
        ``outputs`` (:meth:`decode_forward`): each head's ``loss_by_feat``
        on its outputs, then :meth:`point_losses`. Keys as MMSeg's
        segmentors name them: ``decode.*``, or ``decode_<i>.*`` by stage."""
        losses = dict()
        for i, (head, output) in enumerate(zip(decode_stages(self), outputs)):
            check_loss_fields(type(self).__name__, head, data_samples)
            losses.update(
                add_prefix(
                    head.loss_by_feat(select_rows(output, rows), data_samples),
                    self._stage_prefix(i)))
        losses.update(
            self.point_losses(x, self.decode_logits(outputs), rows,
                              data_samples))
        return losses

    def point_losses(self, x: Sequence[Tensor], logits: Tensor,
                     rows: Sequence[int],
                     data_samples: SampleList) -> Dict[str, Tensor]:
        """The own ``loss`` of the decode stage that samples points, if any
        (PointRend's point head: points of ``logits``, the
        :attr:`logits_head`'s, labels read from ``gt_sem_seg``), on
        ``data_samples``, the rows ``rows`` of the features ``x`` and
        ``logits``; keys ``decode_<i>.*``. The rows are selected only for
        such a stage: other models copy nothing here."""
        losses = dict()
        for i, head in enumerate(decode_stages(self)):
            if samples_points(head):
                losses.update(
                    add_prefix(
                        head.loss(
                            select_rows(x, rows), select_rows(logits, rows),
                            data_samples, self.train_cfg),
                        self._stage_prefix(i)))
        return losses

    def _stage_prefix(self, index: int) -> str:
        """The loss prefix of decode stage ``index``, as MMSeg's segmentors
        name it."""
        return f'decode_{index}' if isinstance(self.decode_head,
                                               nn.ModuleList) else 'decode'

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
