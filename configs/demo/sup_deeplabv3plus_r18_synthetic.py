# Supervised baseline of the demo: the same model, data, weak pipeline and
# total iterations as configs/demo/sb_deeplabv3plus_r18_synthetic.py, trained
# on the labeled images only (MMSeg's EncoderDecoder, plain BN, poly lr over
# the whole run).
_base_ = './sb_deeplabv3plus_r18_synthetic.py'

model = dict(
    _delete_=True,
    **{
        k: v
        for k, v in _base_.model.items()
        if k not in ('type', 'semi_train_cfg', 'unsup_loss')
    },
    type='EncoderDecoder')
train_dataloader = dict(
    _delete_=True,
    batch_size=4,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        _base_.train_dataloader.dataset.labeled,
        pipeline=_base_.weak_pipeline))
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=0.0005))
param_scheduler = [
    dict(
        type='PolyLR',
        eta_min=0.0,
        power=0.9,
        begin=0,
        end=_base_.train_cfg.max_iters,
        by_epoch=False)
]
custom_hooks = []
