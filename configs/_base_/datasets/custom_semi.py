# Your own data, semi-supervised, in MMSeg's BaseSegDataset layout: no
# Cityscapes assumption. Names only (all prefixed custom_), so that this
# piece sits beside a method's config in a `_base_` list; a leaf puts the
# datasets in place (see ../../demo/sb_deeplabv3plus_r18_custom_data.py).
#
#   data/my_dataset/images/train/*.jpg        labeled images
#   data/my_dataset/annotations/train/*.png   their masks (class ids, 255)
#   data/my_dataset/images/unlabeled/*.jpg    unlabeled images, no masks
#   data/my_dataset/images/val/*.jpg, annotations/val/*.png
#
# Without ann_file, MMSeg lists a folder (sorted, recursively); give
# ann_file='splits/x.txt' (one name per line, no suffix) to use a list. The
# pseudo labels are written in the labeled masks' format (seg_map_suffix,
# uint8 class ids) under the run's work dir; their mIoU is reported only if
# the unlabeled images have ground truth (give the unlabeled dataset a
# seg_map_path then).
custom_data_root = 'data/my_dataset/'
custom_metainfo = dict(
    classes=('background', 'road', 'object', 'sky'),
    palette=[[0, 0, 0], [128, 64, 128], [220, 20, 60], [70, 130, 180]])
custom_dataset = dict(
    type='BaseSegDataset',
    data_root=custom_data_root,
    metainfo=custom_metainfo,
    img_suffix='.jpg',
    seg_map_suffix='.png',
    reduce_zero_label=False)
custom_labeled_dataset = dict(
    custom_dataset,
    data_prefix=dict(
        img_path='images/train', seg_map_path='annotations/train'))
custom_unlabeled_dataset = dict(
    type='PseudoLabeledDataset',
    dataset=dict(
        custom_dataset, data_prefix=dict(img_path='images/unlabeled')))
custom_val_dataset = dict(
    custom_dataset,
    data_prefix=dict(img_path='images/val', seg_map_path='annotations/val'))
