# UniMatch, DeepLabV3+ R101, Cityscapes 1/2 split (1488 labeled images).
# 240 epochs of the 1487 unlabeled images at 8 per step: 44400 iterations.
_base_ = './_base_/unimatch_deeplabv3plus_r101-d8_cityscapes-801x801.py'
split = '1-2'
online_iters = 44400
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
