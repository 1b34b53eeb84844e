# The demo's sizes (tools/demo.py), written once for every demo config. Names
# only (all prefixed demo_), so that this piece sits beside a method's
# Cityscapes config in a `_base_` list: the generated Cityscapes-layout data,
# a half-width DeepLabV3+ ResNet-18 without ImageNet weights (a delta over
# MMSeg's DeepLabV3+), 64x128 images, 64x64 crops, 8 images per batch and no
# loader workers (on 2 cores they compete with training for the CPU).
demo_data_root = 'data/synthetic_cityscapes/'
demo_split = 'demo'
demo_crop_size = (64, 64)
demo_img_scale = (128, 64)
demo_norm_cfg = dict(type='BN', requires_grad=True)
demo_model = dict(
    pretrained=None,
    data_preprocessor=dict(size=demo_crop_size),
    backbone=dict(
        depth=18, stem_channels=32, base_channels=32, norm_cfg=demo_norm_cfg),
    decode_head=dict(
        in_channels=256,
        channels=32,
        c1_in_channels=32,
        c1_channels=8,
        norm_cfg=demo_norm_cfg))
# The Cityscapes configs' random rescale, crop and flip at the demo's sizes.
demo_geometric_ops = [
    dict(
        type='RandomResize',
        scale=demo_img_scale,
        ratio_range=(0.5, 2.0),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=demo_crop_size),
    dict(type='RandomFlip', prob=0.5),
]
demo_loader = dict(batch_size=8, num_workers=0, persistent_workers=False)
# Validation, testing and MMSeg's inference API (``test_pipeline``) see the
# images at their own size, not at the Cityscapes configs' 2048x1024.
demo_test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=demo_img_scale, keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
demo_val_dataloader = dict(
    **demo_loader,
    dataset=dict(data_root=demo_data_root, pipeline=demo_test_pipeline))
