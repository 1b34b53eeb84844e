# UniMatch on the demo data (tools/demo.py --compare): the real Cityscapes
# UniMatch config with the sizes of the demo's self-training config (the
# same half-width DeepLabV3+ ResNet-18 without ImageNet weights, 64x128
# images, 64x64 crops, the same labeled split, 4 labeled + 4 unlabeled images
# per step) and as many iterations as the self-training run's teacher and
# student together. The lr is 5x the Cityscapes one, as in the demo's
# self-training config.
_base_ = '../_base_/unimatch_deeplabv3plus_r101-d8_cityscapes-801x801.py'

data_root = 'data/synthetic_cityscapes/'
split = 'demo'
crop_size = (64, 64)
img_scale = (128, 64)
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    pretrained=None,
    data_preprocessor=dict(size=crop_size),
    backbone=dict(
        depth=18, stem_channels=32, base_channels=32, norm_cfg=norm_cfg),
    # OHEM's min_kept scaled from a 801x801 crop (100000 of 641601 pixels)
    # to a 64x64 one.
    decode_head=dict(
        in_channels=256,
        channels=32,
        c1_in_channels=32,
        c1_channels=8,
        norm_cfg=norm_cfg,
        sampler=dict(min_kept=640)))

geometric_ops = [
    dict(
        type='RandomResize',
        scale=img_scale,
        ratio_range=(0.5, 2.0),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
]
labeled_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    *geometric_ops,
    _base_.labeled_pipeline[-1],
]
unlabeled_pipeline = [
    dict(type='LoadImageFromFile'),
    *geometric_ops,
    _base_.unlabeled_pipeline[-1],
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
labeled = dict(
    _base_.online_labeled_dataset,
    data_root=data_root,
    ann_file=f'splits/{split}/labeled.txt',
    pipeline=labeled_pipeline)
unlabeled = dict(
    _base_.online_unlabeled_dataset,
    data_root=data_root,
    ann_file=f'splits/{split}/unlabeled.txt',
    pipeline=unlabeled_pipeline)
# No loader workers, as in the self-training demo (2 CPU cores).
train_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(batch_size=8),
    dataset=dict(datasets=[labeled, unlabeled]))
val_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader

# The self-training demo's teacher + student iterations (800 + 1600).
optim_wrapper = dict(optimizer=dict(lr=0.025))
train_cfg = dict(max_iters=2400, val_interval=100)
default_hooks = dict(
    logger=dict(interval=50), checkpoint=dict(interval=100, max_keep_ckpts=1))
