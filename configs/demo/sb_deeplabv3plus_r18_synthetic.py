# The built-in demo (tools/demo.py): the full self-training method on a small
# generated dataset in Cityscapes' layout, sized for a CPU. It inherits the
# real Cityscapes self-training config and shrinks only what a CPU needs: a
# DeepLabV3+ ResNet-18 without ImageNet weights, 64x128 images, 64x64 crops,
# short rounds.
_base_ = '../_base_/sb_deeplabv3plus_r101-d8_cityscapes-769x769.py'

data_root = 'data/synthetic_cityscapes/'
split = 'demo'
crop_size = (64, 64)
img_scale = (128, 64)
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    pretrained=None,
    data_preprocessor=dict(size=crop_size),
    backbone=dict(depth=18, norm_cfg=norm_cfg),
    decode_head=dict(
        in_channels=512,
        channels=64,
        c1_in_channels=64,
        c1_channels=16,
        norm_cfg=norm_cfg),
    auxiliary_head=dict(in_channels=256, channels=32, norm_cfg=norm_cfg))

weak_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(
        type='RandomResize',
        scale=img_scale,
        ratio_range=(0.5, 2.0),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
strong_pipeline = weak_pipeline[:-1] + [
    dict(type='StrongAugment', num_ops=3, magnitude=20, max_magnitude=40),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    num_workers=2,
    dataset=dict(
        labeled=dict(
            data_root=data_root,
            ann_file=f'splits/{split}/labeled.txt',
            pipeline=weak_pipeline),
        unlabeled=dict(
            data_root=data_root,
            ann_file=f'splits/{split}/unlabeled.txt',
            pipeline=strong_pipeline)))
val_dataloader = dict(
    batch_size=4,
    num_workers=2,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader

# Rounds: teacher, then two student rounds (labeling before each).
round_iters = [400, 300, 300]
optim_wrapper = dict(optimizer=dict(lr=0.05))
param_scheduler = [
    dict(
        type='RoundPolyLR',
        round_iters=round_iters,
        round_mults=[1.0, 0.2],  # students at lr / 5, as the release
        power=0.9,
        eta_min=1e-4,
        by_epoch=False)
]
# Validation and checkpoints every 100 iterations, so at every round end.
train_cfg = dict(max_iters=sum(round_iters), val_interval=100)
default_hooks = dict(
    logger=dict(interval=50), checkpoint=dict(interval=100, max_keep_ckpts=2))
custom_hooks = [
    dict(
        type='PseudoLabelHook',
        round_iters=round_iters,
        num_workers=0,
        num_previews=2)
]
