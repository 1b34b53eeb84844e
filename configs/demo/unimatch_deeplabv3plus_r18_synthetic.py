# UniMatch on the demo data (tools/demo.py --compare): the real Cityscapes
# UniMatch config with the sizes of the demo's self-training config (the
# same half-width DeepLabV3+ ResNet-18 without ImageNet weights, 64x128
# images, 64x64 crops, the same labeled split, 4 labeled + 4 unlabeled images
# per step) and as many iterations as the self-training run's teacher and
# student together. The lr is 5x the Cityscapes one, as in the demo's
# self-training config.
_base_ = [
    '../_base_/unimatch_deeplabv3plus_r101-d8_cityscapes-801x801.py',
    '../_base_/demo_synthetic.py'
]

# OHEM's min_kept scaled from a 801x801 crop (100000 of 641601 pixels) to a
# 64x64 one.
model = dict(
    _base_.demo_model,
    decode_head=dict(
        _base_.demo_model.decode_head, sampler=dict(min_kept=640)))
# The Cityscapes config's pipelines with the demo's geometric ops.
geometric_ops = _base_.demo_geometric_ops
labeled_pipeline = [
    *_base_.labeled_pipeline[:2], *geometric_ops, _base_.labeled_pipeline[-1]
]
unlabeled_pipeline = [
    _base_.unlabeled_pipeline[0], *geometric_ops, _base_.unlabeled_pipeline[-1]
]
split_dir = f'splits/{_base_.demo_split}'
train_dataloader = dict(
    **_base_.demo_loader,
    sampler=dict(batch_size=8),
    dataset=dict(
        labeled=dict(
            data_root=_base_.demo_data_root,
            ann_file=f'{split_dir}/labeled.txt',
            pipeline=labeled_pipeline),
        unlabeled=dict(
            data_root=_base_.demo_data_root,
            ann_file=f'{split_dir}/unlabeled.txt',
            pipeline=unlabeled_pipeline)))
val_dataloader = _base_.demo_val_dataloader
test_dataloader = val_dataloader
test_pipeline = _base_.demo_test_pipeline

optim_wrapper = dict(optimizer=dict(lr=0.025))
# The demo's own batch, which its lr was set for: 1 process x (4 + 4).
auto_scale_lr = dict(base_batch_size=8)
# The self-training demo's teacher + student iterations (600 + 1200), with its
# validation and checkpoint interval.
train_cfg = dict(max_iters=1800, val_interval=200)
default_hooks = dict(
    logger=dict(interval=50), checkpoint=dict(interval=200, max_keep_ckpts=1))
