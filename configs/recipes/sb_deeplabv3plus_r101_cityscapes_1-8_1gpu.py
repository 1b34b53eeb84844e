# The Simple Baseline at 1/8 on 1 GPU: the 2-GPU recipe (teacher 8, students
# 4 + 4 per GPU, fp16) with twice its accumulation, 4 micro-batches per
# optimizer step: the release's batch (teacher 32 labeled images, students
# 16 weak + 16 strong). One process cannot synchronise BN: MMEngine's Runner
# reverts SyncBN to BN when not distributed (it says so in the log), so BN
# (each DSBN branch) sees 4 + 4 images, against the release's 16 + 16; in
# the demo 4 + 4 recovered what 2 + 2 lost (README, "What accumulation does
# not give"). Rounds count iterations, so they are four times as long as the
# release's for its number of optimizer steps.
_base_ = './sb_deeplabv3plus_r101_cityscapes_1-8_2gpu.py'

gpus = 1
accumulative_counts = 2 * _base_.accumulative_counts
optim_wrapper = dict(accumulative_counts=accumulative_counts)
default_hooks = dict(
    pseudo_label=dict(round_iters=[
        n * 2 for n in _base_.default_hooks.pseudo_label.round_iters
    ]))
auto_scale_lr = dict(base_batch_size=gpus * _base_.batch_size)
