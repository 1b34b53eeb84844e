# The demo's self-training config on your own data
# (../_base_/datasets/custom_semi.py: MMSeg's BaseSegDataset layout, 4
# classes, unlabeled images without masks). Only the datasets and the class
# count change; tests/test_tools/test_train.py trains it on generated data.
_base_ = [
    './sb_deeplabv3plus_r18_synthetic.py', '../_base_/datasets/custom_semi.py'
]
num_classes = len(_base_.custom_metainfo['classes'])
model = dict(decode_head=dict(num_classes=num_classes))
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        **_base_.custom_labeled_dataset,
        pipeline=_base_.weak_pipeline))
train_cfg = dict(
    student_dataloader=dict(
        dataset=dict(
            unlabeled=dict(_delete_=True, **_base_.custom_unlabeled_dataset))))
val_dataloader = dict(
    dataset=dict(
        _delete_=True,
        **_base_.custom_val_dataset,
        pipeline=_base_.demo_val_dataloader.dataset.pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
