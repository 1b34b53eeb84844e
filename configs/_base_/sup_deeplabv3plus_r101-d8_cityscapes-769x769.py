# Supervised baseline for the self-training configs: MMSeg's own DeepLabV3+
# R101 769x769 config trained on the labeled split only, identical in all else
# to the self-training run's teacher (weak pipeline, 4 images per GPU, no
# auxiliary head, CE over valid pixels, lr 0.01 and weight decay 5e-4 with one
# poly decay to 0, whole-image evaluation, seed 1024) over the same total
# iterations (the sum of its rounds), so that both get the same compute.
_base_ = [
    'mmseg::deeplabv3plus/deeplabv3plus_r101-d8_4xb2-80k_cityscapes-769x769.py',  # noqa: E501
    './datasets/semi_cityscapes_769x769.py',
    './schedules/self_training_40k_20k.py',
    './schedules/poly.py',
    './mmseg_sb_runtime.py',
]
# mmseg_sb's checkpoint hook (atomic saves), below.
custom_imports = dict(imports=['mmseg_sb'], allow_failed_imports=False)
model = dict(
    decode_head=dict(loss_decode=dict(avg_non_ignore=True)),
    auxiliary_head=None,
    test_cfg=dict(_delete_=True, mode='whole'))

train_dataloader = dict(_delete_=True, **_base_.sup_train_dataloader)
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0005))
# As long as the self-training run (the sum of its rounds), validated and
# saved at the end of each of its student rounds' lengths.
sup_iters = sum(_base_.pseudo_label_hook.round_iters)
sup_interval = _base_.pseudo_label_hook.round_iters[-1]
param_scheduler = [_base_.poly_scheduler]
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=sup_iters, val_interval=sup_interval)
default_hooks = dict(
    checkpoint=dict(
        type='AtomicCheckpointHook', by_epoch=False, interval=sup_interval),
    **_base_.guard_hooks)
randomness = dict(seed=1024)
# The self-training teacher's batch: 8 GPUs x 4 labeled images.
auto_scale_lr = dict(enable=False, base_batch_size=32)
