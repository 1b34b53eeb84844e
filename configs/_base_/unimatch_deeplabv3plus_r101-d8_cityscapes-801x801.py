# UniMatch (Yang et al., "Revisiting Weak-to-Strong Consistency in
# Semi-Supervised Semantic Segmentation", CVPR 2023) with DeepLabV3+ R101 on
# Cityscapes: MMSeg's own DeepLabV3+ R101 config with the release's
# Cityscapes settings (crop 801, 2 + 2 images per GPU on 4 GPUs, SGD lr 0.005
# for backbone and head, weight decay 1e-4, poly 0.9, 240 epochs over the
# unlabeled images, OHEM for the labeled loss). Leaf configs choose the split
# and its iterations.
#
# Differences from the release, on purpose: whole-image evaluation (the
# release slides 801x801 windows), MMSeg's ResNetV1c-101 at output stride 8
# (the release: 16), conf_thresh 0.95 (the paper's; the release's Cityscapes
# file keeps every pixel, which semi_train_cfg.conf_thresh=0.05 reproduces
# with 19 classes), and the CutMix partner taken from the same unlabeled
# batch.
_base_ = [
    'mmseg::deeplabv3plus/deeplabv3plus_r101-d8_4xb2-80k_cityscapes-769x769.py',  # noqa: E501
    './datasets/online_cityscapes_801x801.py',
    './schedules/poly.py',
    './mmseg_sb_runtime.py',
]
custom_imports = dict(imports=['mmseg_sb'], allow_failed_imports=False)

model = dict(
    type='UniMatchEncoderDecoder',
    # The paper's threshold and feature dropout, and its loss
    # (L_sup + 0.25 L_strong_1 + 0.25 L_strong_2 + 0.5 L_fp) / 2.
    semi_train_cfg=dict(
        conf_thresh=0.95,
        feature_dropout=0.5,
        sup_weight=0.5,
        unsup_weight=dict(strong_1=0.125, strong_2=0.125, fp=0.25)),
    data_preprocessor=dict(size=_base_.online_crop_size),
    # OHEM as the release (thresh 0.7, 200000 kept pixels per 2-image GPU
    # batch; MMSeg counts min_kept per image).
    decode_head=dict(
        sampler=dict(type='OHEMPixelSampler', thresh=0.7, min_kept=100000),
        loss_decode=dict(avg_non_ignore=True)),
    auxiliary_head=None,
    test_cfg=dict(_delete_=True, mode='whole'))

train_dataloader = dict(_delete_=True, **_base_.online_train_dataloader)
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.005, momentum=0.9, weight_decay=0.0001),
    clip_grad=None)
# 240 epochs of the unlabeled images at 8 per step; leaf configs set it.
param_scheduler = [_base_.poly_scheduler]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=80000, val_interval=4000)
default_hooks = dict(
    checkpoint=dict(
        type='AtomicCheckpointHook', by_epoch=False, interval=4000),
    **_base_.guard_hooks)
custom_hooks = [dict(type='ExportModelHook')]
randomness = dict(seed=1024)
# The release's batch: 4 GPUs x (2 labeled + 2 unlabeled).
auto_scale_lr = dict(enable=False, base_batch_size=16)
