# Semi-supervised Cityscapes, 769x769 crops (Yuan et al., ICCV 2021).
#
# Names only (no MMSeg key is redefined here), so that this piece can sit
# beside MMSeg's own DeepLabV3+ config in a `_base_` list;
# `../sb_deeplabv3plus_r101-d8_cityscapes-769x769.py` puts them in place.
#
# Splits are MMSeg ann_files (one `city/name` per line) under
# data/cityscapes/splits/<split>/{labeled,unlabeled}.txt, written by
# tools/splits.py. The default is 1-8 (372 labeled images).
semi_data_root = 'data/cityscapes/'
semi_split = '1-8'
semi_crop_size = (769, 769)

# Weak augmentation (the paper's, section 3): random rescale in [0.5, 2.0] of
# 2049x1025, a plain random 769x769 crop (no cat_max_ratio, as the release;
# padding gets label 255 in SegDataPreProcessor), horizontal flip.
weak_geometric_ops = [
    dict(
        type='RandomResize',
        scale=(2049, 1025),
        ratio_range=(0.5, 2.0),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=semi_crop_size),
    dict(type='RandomFlip', prob=0.5),
]
strong_augment = dict(
    type='StrongAugment', num_ops=3, magnitude=20, max_magnitude=40)
weak_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    *weak_geometric_ops,
    dict(type='PackSegInputs'),
]
# Strong augmentation: 3 of the 17 photometric ops at magnitude 20 of 40, on
# the full-resolution image before the weak geometric ops, as the release.
strong_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    strong_augment,
    *weak_geometric_ops,
    dict(type='PackSegInputs'),
]
# Option: the same ops after the crop (cheaper, see README's performance
# table). Equal for the point-wise ops; not for equalize, blur, both noises,
# both dropouts, salt_pepper and jpeg_compression, whose result depends on
# the image's scale or neighbourhood.
strong_pipeline_after_crop = weak_pipeline[:-1] + [
    strong_augment,
    dict(type='PackSegInputs'),
]

# The labeled split, with its ground truth (no pipeline: SemiSegDataset
# applies the weak or strong view's; the supervised baseline adds the weak).
labeled_dataset = dict(
    type='CityscapesDataset',
    data_root=semi_data_root,
    ann_file=f'splits/{semi_split}/labeled.txt',
    data_prefix=dict(
        img_path='leftImg8bit/train', seg_map_path='gtFine/train'))

# The unlabeled images. Their seg_map_path (ground truth, if any) is used only
# to report pseudo-label mIoU; training reads PseudoLabelHook's labels.
unlabeled_dataset = dict(
    labeled_dataset, ann_file=f'splits/{semi_split}/unlabeled.txt')

# Once pseudo labels exist, 2 weakly + 2 strongly augmented images per GPU,
# each half drawn from the union of labeled and pseudo-labeled images (the
# release). composition='split' gives [2 labeled weak | 2 pseudo strong]
# instead. Round 0 (the teacher): 4 labeled, weakly augmented images per GPU.
semi_train_dataloader = dict(
    batch_size=4,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(
        type='SemiSegSampler', batch_size=4, num_weak=2, composition='union'),
    dataset=dict(
        type='SemiSegDataset',
        labeled=labeled_dataset,
        unlabeled=unlabeled_dataset,
        pipeline=weak_pipeline,
        strong_pipeline=strong_pipeline))

# The supervised baseline: the same labeled split and weak pipeline.
sup_train_dataloader = dict(
    batch_size=4,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(labeled_dataset, pipeline=weak_pipeline))
