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
# The students' views: each pipeline packed as the view it is (MultiView),
# so that the model's MultiViewDataPreProcessor stacks them by name and DSBN
# splits [weak | strong].
weak_view = [
    *weak_pipeline[:-1],
    dict(type='MultiView', views=dict(weak=[dict(type='PackSegInputs')])),
]
strong_view = [
    *strong_pipeline[:-1],
    dict(type='MultiView', views=dict(strong=[dict(type='PackSegInputs')])),
]

# The labeled split, with its ground truth (no pipeline: each loader gives
# its own).
labeled_dataset = dict(
    type='CityscapesDataset',
    data_root=semi_data_root,
    ann_file=f'splits/{semi_split}/labeled.txt',
    data_prefix=dict(
        img_path='leftImg8bit/train', seg_map_path='gtFine/train'))

# The unlabeled images, with each round's pseudo labels. Their seg_map_path
# (ground truth, if any) is used only to report pseudo-label mIoU.
unlabeled_dataset = dict(
    type='PseudoLabeledDataset',
    dataset=dict(
        labeled_dataset, ann_file=f'splits/{semi_split}/unlabeled.txt'))

# Round 0 (the teacher) and the supervised baseline: 4 labeled, weakly
# augmented images per GPU.
sup_train_dataloader = dict(
    batch_size=4,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(labeled_dataset, pipeline=weak_pipeline))

# The student rounds: 2 weakly + 2 strongly augmented images per GPU, each
# half drawn from the union of labeled and pseudo-labeled images (the
# release). The parts of SemiSupervisedDataset are [labeled weak, pseudo
# weak, labeled strong, pseudo strong]; sources=[[0], [3]] gives
# [2 labeled weak | 2 pseudo strong] instead. Its labeled images are those of
# round 0's train_dataloader (SelfTrainingLoop fills them in), so a split is
# given once.
student_train_dataloader = dict(
    batch_size=4,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(
        type='MultiSourceSampler',
        batch_size=4,
        source_ratio=[1, 1],
        sources=[[0, 1], [2, 3]]),
    dataset=dict(
        type='SemiSupervisedDataset',
        unlabeled=unlabeled_dataset,
        views=[weak_view, strong_view]))
