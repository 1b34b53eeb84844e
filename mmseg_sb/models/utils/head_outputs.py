# Copyright (c) mmseg_sb contributors. All rights reserved.
"""A decode head's training outputs, as the semi-supervised segmentors read
them.

MMSeg's decode heads share one contract: in training, ``forward(inputs)``
gives what the head's own ``loss_by_feat(outputs, data_samples)`` reads; in
testing, ``predict`` gives per-pixel logits. Most heads give one logits
tensor (N, C, H, W) in training too. Some give several outputs, one of
which is the logits their ``predict`` uses: those are
:data:`TRAIN_LOGITS_INDEX`. The segmentors run the head once over a whole
batch, train the labeled rows with the head's own ``loss_by_feat`` on those
rows of every output (:func:`select_rows`), and read the method's per-pixel
logits (pseudo labels, the self-correction loss) from
:func:`train_logits`.

Why not the head's ``loss`` and ``predict``: ``loss`` runs the head again on
the rows it is given, so the labeled and pseudo-labeled samples would each
get a head pass of their own, and the head's BatchNorm would see them apart,
unlike the release's one pass over the whole ``[weak | strong]`` batch (whose
halves mix both kinds); ``predict`` is not defined in training mode for
DDRNet, PIDNet and K-Net, whose training outputs ``predict_by_feat`` cannot
read. Mask-classification heads, which have no BatchNorm and no per-pixel
logits, are trained through their ``loss``
(:class:`~mmseg_sb.models.SemiSupervisedEncoderDecoder`).

A ``CascadeEncoderDecoder`` (OCRNet, PointRend) has several decode heads,
its stages (:func:`decode_stages`), each after the first run on the
features and the previous stage's output. A stage that samples points in
its loss (PointRend's ``PointHead``, :func:`samples_points`) gives no
per-pixel logits in training: it is trained with its own ``loss`` on the
labeled samples, and the methods read the logits of the stage before it.
"""
import inspect
from typing import Any, List, Sequence, Union

from torch import Tensor, nn

from mmseg.models.decode_heads import (DAHead, DDRHead, EncHead,
                                       IterativeDecodeHead, PIDHead, PointHead)
from mmseg.models.decode_heads.cascade_decode_head import BaseCascadeDecodeHead
from mmseg.utils import SampleList

#: Head type -> index, among its training outputs, of the per-pixel logits
#: that its ``predict`` gives. DANet: (pam_cam, pam, cam), predict uses
#: pam_cam; DDRNet: (context, spatial), the spatial branch is auxiliary;
#: EncNet: (logits, se_output) with ``use_se_loss``; PIDNet: (P, I, D),
#: predict uses I; K-Net: one output per stage, predict uses the last.
TRAIN_LOGITS_INDEX = {
    DAHead: 0,
    DDRHead: 0,
    EncHead: 0,
    PIDHead: 1,
    IterativeDecodeHead: -1,
}

#: Head type -> (the field of a labeled sample its loss reads beside
#: ``gt_sem_seg``, the pipeline step that makes it).
LOSS_FIELDS = {
    PIDHead: ('gt_edge_map', "dict(type='GenerateEdge', edge_width=4)"),
}

Outputs = Union[Tensor, Sequence[Any]]


def decode_stages(segmentor: nn.Module) -> List[nn.Module]:
    """The decode heads of ``segmentor`` in the order they run: the one head
    of an ``EncoderDecoder``, the stages of a ``CascadeEncoderDecoder``. The
    last one gives the classes the segmentor predicts."""
    head = segmentor.decode_head
    return list(head) if isinstance(head, nn.ModuleList) else [head]


def samples_points(head: nn.Module) -> bool:
    """Whether ``head`` is a cascade stage trained on points it samples from
    the previous stage's logits (PointRend's ``PointHead``), not on
    per-pixel logits of its own."""
    return isinstance(head, PointHead)


def select_rows(outputs: Outputs, indices: Sequence[int]) -> Outputs:
    """``outputs`` (a tensor or nested tuples and lists of tensors, batch
    first) at the rows ``indices`` (at least one): views where the indices
    are consecutive and ascending, copies otherwise."""
    if isinstance(outputs, (tuple, list)):
        return type(outputs)(select_rows(o, indices) for o in outputs)
    first, last = indices[0], indices[-1]
    if list(indices) == list(range(first, last + 1)):
        return outputs[first:last + 1]
    return outputs[list(indices)]


def check_loss_fields(segmentor: str, head: nn.Module,
                      data_samples: SampleList) -> None:
    """A ``ValueError`` naming ``segmentor``, the head, the missing field
    and the pipeline step that makes it, if the head's loss reads a field
    (:data:`LOSS_FIELDS`) that the labeled ``data_samples`` lack."""
    for cls, (field, step) in LOSS_FIELDS.items():
        if isinstance(head, cls) and any(field not in s for s in data_samples):
            raise ValueError(
                f'{segmentor}: the loss of {type(head).__name__} reads '
                f'{field} of the labeled images, which their samples lack. '
                f'Add {step} after LoadAnnotations in the labeled images\' '
                "pipelines, as MMSeg's own config of the model does.")


def train_logits(segmentor: str, head: nn.Module, outputs: Outputs) -> Tensor:
    """The per-pixel logits (N, C, H, W) among ``head``'s training
    ``outputs``: the outputs themselves if they are one such tensor, else
    the one at :data:`TRAIN_LOGITS_INDEX` of the head's type.

    Raises:
        TypeError: Naming ``segmentor``, the head and what it gave, if
            neither is one logits tensor.
    """
    if not isinstance(outputs, Tensor):
        index = next((i for cls, i in TRAIN_LOGITS_INDEX.items()
                      if isinstance(head, cls)), None)
        if index is not None and isinstance(outputs, (tuple, list)):
            outputs = outputs[index]
    if isinstance(outputs, Tensor) and outputs.dim() == 4:
        return outputs
    got = type(outputs).__name__ if not isinstance(
        outputs, Tensor) else f'a {outputs.dim()}-d tensor'
    known = ', '.join(cls.__name__ for cls in TRAIN_LOGITS_INDEX)
    raise TypeError(
        f'{segmentor} needs per-pixel logits (N, C, H, W) from the decode '
        f'head, and {type(head).__name__} gives {got} in training. Heads '
        f'that give one logits tensor, or several outputs of known layout '
        f'({known}), are supported; for another head, add the index of its '
        'logits among its training outputs to mmseg_sb.models.utils.'
        'TRAIN_LOGITS_INDEX.')


def takes_samples(head: nn.Module) -> bool:
    """Whether ``head.forward`` needs more than the features: a
    mask-classification head (MaskFormer, Mask2Former), which reads the data
    samples and gives class scores and masks, not per-pixel logits. A
    cascade stage's ``forward`` also reads the previous stage's output: not
    such a head."""
    if isinstance(head, BaseCascadeDecodeHead):
        return False
    params = list(inspect.signature(head.forward).parameters.values())
    return any(
        p.default is p.empty and p.kind in (p.POSITIONAL_ONLY,
                                            p.POSITIONAL_OR_KEYWORD)
        for p in params[1:])


def check_decode_head(segmentor: str, head: nn.Module) -> None:
    """A ``TypeError`` naming ``segmentor`` and ``head`` if the head is a
    mask-classification head (:func:`takes_samples`), for a method that
    needs per-pixel logits."""
    if takes_samples(head):
        raise TypeError(
            f'{segmentor} runs the decode head on features alone and reads '
            f'per-pixel logits from it; {type(head).__name__}.forward also '
            'needs the data samples and gives mask-classification outputs '
            '(MaskFormer, Mask2Former), without the logits whose confidence '
            'this method thresholds. Train such a model with the Simple '
            "Baseline (SemiSupervisedEncoderDecoder: the head's own loss on "
            'hard pseudo labels), or a model whose decode head gives logits, '
            'e.g. DeepLabV3+, UPerNet, SegFormer or K-Net.')
