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
        norm_cfg=norm_cfg))

weak_geometric_ops = [
    dict(
        type='RandomResize',
        scale=img_scale,
        ratio_range=(0.5, 2.0),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
]
weak_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    *weak_geometric_ops,
    dict(type='PackSegInputs'),
]
strong_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='StrongAugment', num_ops=3, magnitude=20, max_magnitude=40),
    *weak_geometric_ops,
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
            data_root=data_root, ann_file=f'splits/{split}/labeled.txt'),
        unlabeled=dict(
            data_root=data_root, ann_file=f'splits/{split}/unlabeled.txt'),
        pipeline=weak_pipeline,
        strong_pipeline=strong_pipeline))
val_dataloader = dict(
    batch_size=4,
    num_workers=2,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader

# Rounds: teacher, then two student rounds (labeling before each).
round_iters = [400, 300, 300]
optim_wrapper = dict(optimizer=dict(lr=0.05))
param_scheduler = [
    dict(scheduler, round_iters=round_iters)
    for scheduler in _base_.self_training_scheduler
]
# Validation and checkpoints every 100 iterations, so at every round end.
train_cfg = dict(max_iters=sum(round_iters), val_interval=100)
default_hooks = dict(
    logger=dict(interval=50), checkpoint=dict(interval=100, max_keep_ckpts=2))
custom_hooks = [
    dict(
        type='PseudoLabelHook',
        round_iters=round_iters,
        tta=False,
        num_workers=0,
        num_previews=2)
]
