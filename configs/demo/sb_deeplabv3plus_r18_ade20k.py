# The demo's self-training config on data in ADE20K's layout and label
# format (../_base_/datasets/semi_ade20k_512x512.py: ADE20KDataset, class
# id + 1 in the label files, 150 classes), with the demo's small pipelines.
# tests/test_tools/test_train.py trains it on generated data.
_base_ = [
    './sb_deeplabv3plus_r18_synthetic.py',
    '../_base_/datasets/semi_ade20k_512x512.py'
]
model = dict(decode_head=dict(num_classes=150))
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        **_base_.ade20k_labeled_dataset,
        pipeline=_base_.weak_pipeline))
train_cfg = dict(
    student_dataloader=dict(
        dataset=dict(
            unlabeled=dict(_delete_=True, **_base_.ade20k_unlabeled_dataset))))
val_dataloader = dict(
    dataset=dict(
        _delete_=True,
        **_base_.ade20k_val_dataset,
        pipeline=_base_.demo_val_dataloader.dataset.pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
