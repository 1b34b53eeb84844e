# UniMatch at 1/8 on 1 GPU: the 2-GPU recipe (the release's 2 labeled + 2
# unlabeled per GPU, fp16) with twice its accumulation, 4 micro-batches per
# optimizer step: the release's batch (8 labeled + 8 unlabeled images). One
# process cannot synchronise BN: MMEngine's Runner reverts SyncBN to BN when
# not distributed (it says so in the log), so BN sees 2 + 2 images, against
# the release's 8 + 8. The schedule counts iterations, so it is four times
# as long as the release's (and the validations and checkpoints four times
# as far apart) for its number of optimizer steps.
_base_ = './unimatch_deeplabv3plus_r101_cityscapes_1-8_2gpu.py'

gpus = 1
accumulative_counts = 2 * _base_.accumulative_counts
optim_wrapper = dict(accumulative_counts=accumulative_counts)
train_cfg = dict(
    max_iters=_base_.train_cfg.max_iters * 2,
    val_interval=_base_.train_cfg.val_interval * 2)
default_hooks = dict(
    checkpoint=dict(interval=_base_.default_hooks.checkpoint.interval * 2))
auto_scale_lr = dict(base_batch_size=gpus * _base_.batch_size)
