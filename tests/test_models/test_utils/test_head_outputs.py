# Copyright (c) mmseg_sb contributors. All rights reserved.
import pytest
import torch

from mmseg.registry import MODELS
from mmseg_sb.models.utils import (TRAIN_LOGITS_INDEX, check_decode_head,
                                   select_rows, train_logits)

DA_HEAD = dict(
    type='DAHead',
    in_channels=8,
    in_index=0,
    channels=4,
    pam_channels=2,
    num_classes=3)


def test_select_rows_keeps_the_nesting():
    a, b, c = (torch.randn(4, 2) for _ in range(3))
    outputs = (a, [b, c])
    picked = select_rows(outputs, [1, 2])
    assert isinstance(picked, tuple) and isinstance(picked[1], list)
    for got, whole in zip((picked[0], *picked[1]), (a, b, c)):
        assert torch.equal(got, whole[1:3])
        # consecutive rows: views, no copy
        assert got.data_ptr() == whole[1].data_ptr()
    picked = select_rows(outputs, [0, 3])
    assert torch.equal(picked[1][1], torch.stack([c[0], c[3]]))


def test_train_logits_reads_each_known_layout():
    head = MODELS.build(DA_HEAD)
    logits = [torch.randn(2, 3, 4, 4) for _ in range(3)]
    assert train_logits('Segmentor', head, logits[0]) is logits[0]
    # DANet: (pam_cam, pam, cam); its predict uses pam_cam.
    assert train_logits('Segmentor', head, tuple(logits)) is logits[0]
    assert set(TRAIN_LOGITS_INDEX.values()) == {0, 1, -1}


def test_train_logits_names_an_unknown_layout():
    head = MODELS.build(
        dict(
            type='FCNHead',
            in_channels=8,
            channels=4,
            num_convs=1,
            num_classes=3))
    two = (torch.randn(2, 3, 4, 4), torch.randn(2, 3, 4, 4))
    with pytest.raises(
            TypeError,
            match='MySegmentor needs per-pixel logits .* FCNHead gives tuple '
            'in training.*TRAIN_LOGITS_INDEX'):
        train_logits('MySegmentor', head, two)
    with pytest.raises(TypeError, match='FCNHead gives a 3-d tensor'):
        train_logits('MySegmentor', head, torch.randn(2, 4, 4))


def test_a_head_that_needs_the_samples_is_refused():
    """Mask heads' forward takes the data samples (MMSeg's
    Mask2FormerHead needs mmdet, so a head with the same signature stands
    in: the check reads only the signature)."""
    check_decode_head('Segmentor', MODELS.build(DA_HEAD))

    class MaskHead(torch.nn.Module):

        def forward(self, x, batch_data_samples):
            return x

    with pytest.raises(
            TypeError,
            match=r"Segmentor .* MaskHead.forward also needs "
            r"\['batch_data_samples'\] .*mask-classification"):
        check_decode_head('Segmentor', MaskHead())
