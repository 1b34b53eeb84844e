# Self-training, DeepLabV3+ R101, ADE20K 1/8 split (a drawn one: ADE20K has
# no community split): the Cityscapes recipe with ADE20K's data, 512x512
# crops and 150 classes (./_base_/datasets/semi_ade20k_512x512.py). The
# rounds, optimizer and batch are the Cityscapes 1/8's (8 GPUs x (2 + 2));
# neither the paper nor this project has an ADE20K result to tune them on.
_base_ = [
    './_base_/sb_deeplabv3plus_r101-d8_cityscapes-769x769.py',
    './_base_/datasets/semi_ade20k_512x512.py',
]
model = dict(
    data_preprocessor=dict(size=_base_.ade20k_crop_size),
    decode_head=dict(num_classes=150))
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        **_base_.ade20k_labeled_dataset,
        pipeline=_base_.ade20k_weak_pipeline))
train_cfg = dict(
    student_dataloader=dict(
        dataset=dict(
            unlabeled=dict(_delete_=True, **_base_.ade20k_unlabeled_dataset),
            views=[_base_.ade20k_weak_view, _base_.ade20k_strong_view])))
val_dataloader = dict(
    dataset=dict(
        _delete_=True,
        **_base_.ade20k_val_dataset,
        pipeline=_base_.ade20k_test_pipeline))
test_dataloader = val_dataloader
