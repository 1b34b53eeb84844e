# Copyright (c) mmseg_sb contributors. All rights reserved.
import pytest
import torch
from mmengine.structures import PixelData

from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg_sb.models.utils import (TRAIN_LOGITS_INDEX, check_decode_head,
                                   check_loss_fields, select_rows,
                                   takes_samples, train_logits)

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
    # ascending only: a reordered block is a copy in the given order
    picked = select_rows(a, [1, 0, 2])
    assert torch.equal(picked, torch.stack([a[1], a[0], a[2]]))


def test_train_logits_reads_each_known_layout():
    head = MODELS.build(DA_HEAD)
    logits = [torch.randn(2, 3, 4, 4) for _ in range(3)]
    assert train_logits('Segmentor', head, logits[0]) is logits[0]
    # DANet: (pam_cam, pam, cam); its predict uses pam_cam. (Every head of
    # the table is checked against its own predict in test_model_zoo.py.)
    assert train_logits('Segmentor', head, tuple(logits)) is logits[0]
    assert TRAIN_LOGITS_INDEX[type(head)] == 0


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
    """Mask heads' forward takes the data samples (MMSeg's Mask2FormerHead
    is tested in test_model_zoo.py, with mmdet; here, a head with the same
    signature: the check reads only the signature)."""
    da_head = MODELS.build(DA_HEAD)
    assert not takes_samples(da_head)
    check_decode_head('Segmentor', da_head)

    class MaskHead(torch.nn.Module):

        def forward(self, x, batch_data_samples):
            return x

    assert takes_samples(MaskHead())
    with pytest.raises(
            TypeError,
            match=r'Segmentor .* MaskHead.forward also needs the data '
            'samples .*with the Simple Baseline'):
        check_decode_head('Segmentor', MaskHead())


def test_pidnet_without_edge_maps_is_told_the_step():
    head = MODELS.build(
        dict(type='PIDHead', in_channels=8, channels=4, num_classes=3))
    sample = SegDataSample()
    sample.gt_sem_seg = PixelData(data=torch.zeros(1, 4, 4).long())
    with pytest.raises(
            ValueError,
            match=r"Segmentor: the loss of PIDHead reads gt_edge_map .*"
            r"Add dict\(type='GenerateEdge'"):
        check_loss_fields('Segmentor', head, [sample])
    sample.gt_edge_map = PixelData(data=torch.zeros(1, 4, 4).long())
    check_loss_fields('Segmentor', head, [sample])
    check_loss_fields('Segmentor', MODELS.build(DA_HEAD), [SegDataSample()])
