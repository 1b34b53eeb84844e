# Copyright (c) mmseg_sb contributors. All rights reserved.
import torch

from mmseg_sb.models.utils import box_masks, cutmix, partners


def test_image_region_and_pseudo_label_move_together():
    # Image i is filled with the value i, its pseudo label with 10 + i.
    images = torch.arange(3.).view(3, 1, 1, 1).expand(3, 3, 8, 8)
    labels = (10 + torch.arange(3)).view(3, 1, 1).expand(3, 8, 8)
    masks = box_masks([(1, 2, 4, 7), None, (0, 0, 8, 8)], (8, 8), 'cpu')
    assert masks.sum(dim=(1, 2)).tolist() == [3 * 5, 0, 64]
    partner = partners(3, 'cpu')
    assert partner.tolist() == [1, 2, 0]
    mixed_images = cutmix(images, masks, partner)
    mixed_labels = cutmix(labels, masks, partner)
    # Inside image 0's box: image 1 and its label; outside: image 0.
    assert (mixed_images[0, :, 1:4, 2:7] == 1).all()
    assert (mixed_labels[0, 1:4, 2:7] == 11).all()
    assert mixed_images[0].sum() == 3 * 15 * 1
    assert (mixed_labels[0] == 10).sum() == 64 - 15
    # Every mixed pixel's label is the label of the image it came from.
    torch.testing.assert_close(mixed_labels, 10 + mixed_images[:, 0].long())
    # No box: unchanged; a full box: all of the partner (image 0).
    assert (mixed_images[1] == 1).all() and (mixed_images[2] == 0).all()
