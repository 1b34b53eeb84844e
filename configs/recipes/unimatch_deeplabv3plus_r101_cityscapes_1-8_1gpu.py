# UniMatch at 1/8 on 1 GPU: the release's batch (8 labeled + 8 unlabeled
# images per optimizer step) as 4 accumulated micro-batches of the release's
# per-GPU batch (2 labeled + 2 unlabeled), in fp16 (AMP, dynamic loss scale)
# for memory. One process cannot synchronise BN: MMEngine's Runner reverts
# SyncBN to BN when not distributed (it says so in the log), so BN sees
# 2 + 2 images, against the release's 8 + 8. The schedule counts iterations,
# so it is four times as long (and the validations and checkpoints four
# times as far apart) for the release's number of optimizer steps.
_base_ = '../unimatch_deeplabv3plus_r101_cityscapes_1-8.py'

gpus = 1
batch_size = 4  # per GPU: 2 labeled + 2 unlabeled, the release's
accumulative_counts = 4
train_dataloader = dict(
    batch_size=batch_size, sampler=dict(batch_size=batch_size))
optim_wrapper = dict(
    type='AmpOptimWrapper',
    loss_scale='dynamic',
    accumulative_counts=accumulative_counts)
train_cfg = dict(
    max_iters=_base_.train_cfg.max_iters * accumulative_counts,
    val_interval=_base_.train_cfg.val_interval * accumulative_counts)
default_hooks = dict(
    checkpoint=dict(interval=_base_.default_hooks.checkpoint.interval *
                    accumulative_counts))
# MMEngine scales the lr by gpus x batch_size / base_batch_size, which leaves
# out the accumulation: 1.0 here, as the batch per step is the release's.
auto_scale_lr = dict(base_batch_size=gpus * batch_size)
