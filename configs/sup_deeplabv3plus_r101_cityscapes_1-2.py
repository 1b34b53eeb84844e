# Supervised baseline, DeepLabV3+ R101, Cityscapes 1/2 split (labeled only).
_base_ = './_base_/sup_deeplabv3plus_r101-d8_cityscapes-769x769.py'
split = '1-2'
train_dataloader = dict(dataset=dict(ann_file=f'splits/{split}/labeled.txt'))
