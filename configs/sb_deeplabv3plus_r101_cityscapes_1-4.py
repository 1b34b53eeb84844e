# Self-training, DeepLabV3+ R101, Cityscapes 1/4 split.
_base_ = './_base_/sb_deeplabv3plus_r101-d8_cityscapes-769x769.py'
split = '1-4'
train_dataloader = dict(
    dataset=dict(
        labeled=dict(ann_file=f'splits/{split}/labeled.txt'),
        unlabeled=dict(ann_file=f'splits/{split}/unlabeled.txt')))
