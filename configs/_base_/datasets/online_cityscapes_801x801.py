# Online semi-supervised Cityscapes (UniMatch, FixMatch), 801x801 crops, as in
# UniMatch's release (Yang et al., CVPR 2023).
#
# Names only (no MMSeg key is redefined here); see
# ../unimatch_deeplabv3plus_r101-d8_cityscapes-801x801.py. The splits are
# those of the self-training configs (tools/splits.py writes them).
online_data_root = 'data/cityscapes/'
online_split = '1-8'
online_crop_size = (801, 801)

# Shared by every view: random rescale of 2048x1024 in [0.5, 2.0], a plain
# 801x801 crop (padding is ignored: label 255 for labeled images, outside the
# valid pixels for unlabeled ones), horizontal flip.
online_geometric_ops = [
    dict(
        type='RandomResize',
        scale=(2048, 1024),
        ratio_range=(0.5, 2.0),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=online_crop_size),
    dict(type='RandomFlip', prob=0.5),
]
# A strong view (UniMatch's release): colour jitter (0.5, 0.5, 0.5, 0.25)
# with p 0.8, greyscale with p 0.2, Gaussian blur (sigma 0.1-2) with p 0.5,
# and a CutMix box (2-40% of the crop) with p 0.5.
online_strong_view = [
    dict(
        type='RandomApply',
        transforms=[
            dict(
                type='ColorJitter',
                brightness=0.5,
                contrast=0.5,
                saturation=0.5,
                hue=0.25)
        ],
        prob=0.8),
    dict(
        type='RandomGrayscale',
        prob=0.2,
        keep_channels=True,
        channel_weights=(0.114, 0.587, 0.299)),  # BGR luma
    dict(
        type='RandomApply',
        transforms=[dict(type='GaussianBlur', sigma=(0.1, 2.0))],
        prob=0.5),
    dict(type='RandomCutMixBox', prob=0.5),
    dict(
        type='PackSegInputs',
        meta_keys=('img_path', 'ori_shape', 'img_shape', 'pad_shape',
                   'scale_factor', 'flip', 'flip_direction', 'cutmix_box')),
]
labeled_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    *online_geometric_ops,
    dict(type='MultiView', views=dict(sup=[dict(type='PackSegInputs')])),
]
unlabeled_pipeline = [
    dict(type='LoadImageFromFile'),
    *online_geometric_ops,
    dict(
        type='MultiView',
        views=dict(
            weak=[dict(type='PackSegInputs')],
            strong_1=online_strong_view,
            strong_2=online_strong_view)),
]
# FixMatch's views of an unlabeled image: UniMatch's without the second
# strong one.
fixmatch_views = dict(
    type='MultiView',
    views=dict(weak=[dict(type='PackSegInputs')], strong_1=online_strong_view))
online_labeled_dataset = dict(
    type='CityscapesDataset',
    data_root=online_data_root,
    ann_file=f'splits/{online_split}/labeled.txt',
    data_prefix=dict(
        img_path='leftImg8bit/train', seg_map_path='gtFine/train'),
    pipeline=labeled_pipeline)
online_unlabeled_dataset = dict(
    online_labeled_dataset,
    ann_file=f'splits/{online_split}/unlabeled.txt',
    pipeline=unlabeled_pipeline)
# 2 labeled + 2 unlabeled images per GPU; on 4 GPUs the release's 8 + 8.
online_train_dataloader = dict(
    batch_size=4,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='MultiSourceSampler', batch_size=4, source_ratio=[1, 1]),
    dataset=dict(
        type='SemiSupervisedDataset',
        labeled=online_labeled_dataset,
        unlabeled=online_unlabeled_dataset))
