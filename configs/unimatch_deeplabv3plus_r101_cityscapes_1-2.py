# UniMatch, DeepLabV3+ R101, Cityscapes 1/2 split (1488 labeled images).
_base_ = './_base_/unimatch_deeplabv3plus_r101-d8_cityscapes-801x801.py'
train_dataloader = dict(
    dataset=dict(
        labeled=dict(ann_file='splits/1-2/labeled.txt'),
        unlabeled=dict(ann_file='splits/1-2/unlabeled.txt')))
# 240 epochs of the 1487 unlabeled images at 8 per step: 44400 iterations.
train_cfg = dict(max_iters=44400)
