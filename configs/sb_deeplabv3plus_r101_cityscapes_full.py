# Self-training, DeepLabV3+ R101, Cityscapes full: all 2975 fine train images
# labeled, the 19,998 train_extra (coarse set) images unlabeled. train_extra
# has no fine ground truth, so no pseudo-label mIoU is reported.
_base_ = './_base_/sb_deeplabv3plus_r101-d8_cityscapes-769x769.py'
unlabeled = dict(
    dataset=dict(
        ann_file='',
        data_prefix=dict(_delete_=True, img_path='leftImg8bit/train_extra')))
train_dataloader = dict(dataset=dict(ann_file=''))
train_cfg = dict(student_dataloader=dict(dataset=dict(unlabeled=unlabeled)))
