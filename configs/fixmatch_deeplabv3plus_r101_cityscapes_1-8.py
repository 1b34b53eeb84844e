# FixMatch, DeepLabV3+ R101, Cityscapes 1/8 split (372 labeled images).
_base_ = './_base_/fixmatch_deeplabv3plus_r101-d8_cityscapes-801x801.py'
train_dataloader = dict(
    dataset=dict(
        labeled=dict(ann_file='splits/1-8/labeled.txt'),
        unlabeled=dict(ann_file='splits/1-8/unlabeled.txt')))
# 240 epochs of the 2603 unlabeled images at 8 per step: 78000 iterations.
train_cfg = dict(max_iters=78000)
