# UniMatch, DeepLabV3+ R101, Cityscapes 1/4 split (744 labeled images).
_base_ = './_base_/unimatch_deeplabv3plus_r101-d8_cityscapes-801x801.py'
labeled = dict(
    _base_.online_labeled_dataset, ann_file='splits/1-4/labeled.txt')
unlabeled = dict(
    _base_.online_unlabeled_dataset, ann_file='splits/1-4/unlabeled.txt')
train_dataloader = dict(dataset=dict(datasets=[labeled, unlabeled]))
# 240 epochs of the 2231 unlabeled images at 8 per step: 66720 iterations.
train_cfg = dict(max_iters=66720)
