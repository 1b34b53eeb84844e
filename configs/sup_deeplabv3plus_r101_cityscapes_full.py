# Supervised baseline, DeepLabV3+ R101, Cityscapes full (2975 fine images).
_base_ = './_base_/sup_deeplabv3plus_r101-d8_cityscapes-769x769.py'
train_dataloader = dict(dataset=dict(ann_file=''))
