# Self-training, DeepLabV3+ R101, Cityscapes 1/16 split.
_base_ = './_base_/sb_deeplabv3plus_r101-d8_cityscapes-769x769.py'
unlabeled = dict(dataset=dict(ann_file='splits/1-16/unlabeled.txt'))
train_dataloader = dict(dataset=dict(ann_file='splits/1-16/labeled.txt'))
train_cfg = dict(student_dataloader=dict(dataset=dict(unlabeled=unlabeled)))
