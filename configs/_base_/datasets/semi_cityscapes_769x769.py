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

# Weak augmentation, both kinds of sample (METHOD.md section 2): random
# rescale in [0.5, 2.0] of 2049x1025, random 769x769 crop (padding gets label
# 255 in SegDataPreProcessor), horizontal flip.
weak_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(
        type='RandomResize',
        scale=(2049, 1025),
        ratio_range=(0.5, 2.0),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=semi_crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]

# Strong augmentation, pseudo-labeled samples only: the weak ops, then 3 of
# the 17 photometric ops at magnitude 20 of 40. Applied after the crop:
# equivalent for point-wise ops and much cheaper than at full resolution.
strong_pipeline = weak_pipeline[:-1] + [
    dict(type='StrongAugment', num_ops=3, magnitude=20, max_magnitude=40),
    dict(type='PackSegInputs'),
]

# The labeled split, with its ground truth.
labeled_dataset = dict(
    type='CityscapesDataset',
    data_root=semi_data_root,
    ann_file=f'splits/{semi_split}/labeled.txt',
    data_prefix=dict(
        img_path='leftImg8bit/train', seg_map_path='gtFine/train'),
    pipeline=weak_pipeline)

# The unlabeled images. Their seg_map_path (ground truth, if any) is used only
# to report pseudo-label mIoU; training reads PseudoLabelHook's labels.
unlabeled_dataset = dict(
    type='CityscapesDataset',
    data_root=semi_data_root,
    ann_file=f'splits/{semi_split}/unlabeled.txt',
    data_prefix=dict(
        img_path='leftImg8bit/train', seg_map_path='gtFine/train'),
    pipeline=strong_pipeline)

# 2 labeled + 2 pseudo-labeled images per GPU once pseudo labels exist (the
# release's ratio); 4 labeled per GPU in round 0.
semi_train_dataloader = dict(
    batch_size=4,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='SemiSegSampler', batch_size=4, num_labeled=2),
    dataset=dict(
        type='SemiSegDataset',
        labeled=labeled_dataset,
        unlabeled=unlabeled_dataset))

# The supervised baseline: the same labeled split and weak pipeline.
sup_train_dataloader = dict(
    batch_size=4,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=labeled_dataset)
