# The Simple Baseline at 1/8 on 1 GPU: the release's batch (teacher 32
# labeled images, students 16 weak + 16 strong per optimizer step) as 4
# accumulated micro-batches of twice the release's per-GPU batch (teacher 8,
# students 4 + 4), in fp16 (AMP, dynamic loss scale) to fit about the
# release's memory per GPU. One process cannot synchronise BN: MMEngine's
# Runner reverts SyncBN to BN when not distributed (it says so in the log),
# so BN (each DSBN branch) sees 4 + 4 images, against the release's 16 + 16;
# in the demo 4 + 4 recovered what 2 + 2 lost (README, "What accumulation
# does not give"). Rounds count iterations, so they are four times as long
# for the release's number of optimizer steps.
_base_ = '../sb_deeplabv3plus_r101_cityscapes_1-8.py'

gpus = 1
accumulative_counts = 4
batch_size = 8  # per GPU: teacher 8 labeled, students 4 weak + 4 strong
train_dataloader = dict(batch_size=batch_size)
train_cfg = dict(
    student_dataloader=dict(
        batch_size=batch_size, sampler=dict(batch_size=batch_size)))
optim_wrapper = dict(
    type='AmpOptimWrapper',
    loss_scale='dynamic',
    accumulative_counts=accumulative_counts)
default_hooks = dict(
    pseudo_label=dict(round_iters=[
        n * accumulative_counts
        for n in _base_.default_hooks.pseudo_label.round_iters
    ]))
# MMEngine scales the lr by gpus x batch_size / base_batch_size, which leaves
# out the accumulation: 1.0 here, as the batch per step is the release's.
auto_scale_lr = dict(base_batch_size=gpus * batch_size)
