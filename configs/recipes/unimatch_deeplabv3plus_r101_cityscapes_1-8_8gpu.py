# UniMatch at 1/8 on 8 GPUs: the release's batch (8 labeled + 8 unlabeled
# images per optimizer step, on 4 GPUs) as 1 + 1 per GPU, fp32. SyncBN over
# the 8 GPUs: BN sees the release's 8 + 8 (4 x (2 + 2)).
_base_ = '../unimatch_deeplabv3plus_r101_cityscapes_1-8.py'

gpus = 8
accumulative_counts = 1
batch_size = 2  # per GPU: 1 labeled + 1 unlabeled
train_dataloader = dict(
    batch_size=batch_size, sampler=dict(batch_size=batch_size))
# MMEngine scales the lr by gpus x batch_size / base_batch_size: 1.0 here.
auto_scale_lr = dict(base_batch_size=gpus * batch_size)
