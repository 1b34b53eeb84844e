# FixMatch, DeepLabV3+ R101, Cityscapes 1/8 split (372 labeled images).
# 240 epochs of the 2603 unlabeled images at 8 per step: 78000 iterations.
_base_ = './_base_/fixmatch_deeplabv3plus_r101-d8_cityscapes-801x801.py'
split = '1-8'
online_iters = 78000
train_dataloader = dict(
    dataset=dict(datasets=[
        dict(
            _base_.train_dataloader.dataset.datasets[0],
            ann_file=f'splits/{split}/labeled.txt'),
        dict(
            _base_.train_dataloader.dataset.datasets[1],
            ann_file=f'splits/{split}/unlabeled.txt')
    ]))
param_scheduler = [dict(_base_.param_scheduler[0], end=online_iters)]
train_cfg = dict(max_iters=online_iters)
