# UniMatch, DeepLabV3+ R101, Cityscapes 1/16 split (186 labeled images).
_base_ = './_base_/unimatch_deeplabv3plus_r101-d8_cityscapes-801x801.py'
train_dataloader = dict(
    dataset=dict(
        labeled=dict(ann_file='splits/1-16/labeled.txt'),
        unlabeled=dict(ann_file='splits/1-16/unlabeled.txt')))
# 240 epochs of the 2789 unlabeled images at 8 per step: 83520 iterations.
train_cfg = dict(max_iters=83520)
