# Semi-supervised ADE20K, 512x512 crops: another of MMSeg's datasets, in its
# own layout and label format.
#
#   data/ade/ADEChallengeData2016/images/training/*.jpg
#   data/ade/ADEChallengeData2016/annotations/training/*.png
#   data/ade/ADEChallengeData2016/images/validation/*.jpg, annotations/...
#
# The label files hold class id + 1 with 0 ignored (ADE20KDataset's
# reduce_zero_label, 150 classes); the pseudo labels are written in that
# format too. Names only (all prefixed ade20k_), so that this piece sits
# beside a method's config in a `_base_` list; see
# ../../sb_deeplabv3plus_r101_ade20k_1-8.py.
#
# There is no community semi-supervised split of ADE20K: draw one (one image
# name per line, no suffix) with
#   python tools/splits.py draw data/ade/ADEChallengeData2016 --name 1-8 \
#       --dataset ADE20KDataset --img-dir images/training --fraction 0.125
ade20k_data_root = 'data/ade/ADEChallengeData2016/'
ade20k_split = '1-8'
ade20k_crop_size = (512, 512)

# The weak view: MMSeg's ADE20K geometric ops (random rescale of 2048x512 in
# [0.5, 2.0], a 512x512 crop, flip) without its photometric distortion, as
# the paper's weak view is geometric only.
ade20k_weak_geometric_ops = [
    dict(
        type='RandomResize',
        scale=(2048, 512),
        ratio_range=(0.5, 2.0),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=ade20k_crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
]
ade20k_weak_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    *ade20k_weak_geometric_ops,
    dict(type='PackSegInputs'),
]
# The strong view: the Simple Baseline's StrongAugment (3 of 17 ops at
# magnitude 20 of 40) on the whole image, then the weak view's ops.
ade20k_strong_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='StrongAugment', num_ops=3, magnitude=20, max_magnitude=40),
    *ade20k_weak_geometric_ops,
    dict(type='PackSegInputs'),
]
ade20k_weak_view = [
    *ade20k_weak_pipeline[:-1],
    dict(type='MultiView', views=dict(weak=[dict(type='PackSegInputs')])),
]
ade20k_strong_view = [
    *ade20k_strong_pipeline[:-1],
    dict(type='MultiView', views=dict(strong=[dict(type='PackSegInputs')])),
]

ade20k_labeled_dataset = dict(
    type='ADE20KDataset',
    data_root=ade20k_data_root,
    ann_file=f'splits/{ade20k_split}/labeled.txt',
    data_prefix=dict(
        img_path='images/training', seg_map_path='annotations/training'))
# The unlabeled images; their annotations are read only to report the
# pseudo labels' mIoU (drop seg_map_path for images without masks).
ade20k_unlabeled_dataset = dict(
    type='PseudoLabeledDataset',
    dataset=dict(
        ade20k_labeled_dataset,
        ann_file=f'splits/{ade20k_split}/unlabeled.txt'))
# MMSeg's ADE20K validation (no pipeline: each config gives its own).
ade20k_val_dataset = dict(
    type='ADE20KDataset',
    data_root=ade20k_data_root,
    data_prefix=dict(
        img_path='images/validation', seg_map_path='annotations/validation'))
ade20k_test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(2048, 512), keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
