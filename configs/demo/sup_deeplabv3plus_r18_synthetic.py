# Supervised baseline of the demo, and the teacher of its self-training run:
# the same model, data and weak pipeline as
# configs/demo/sb_deeplabv3plus_r18_synthetic.py, trained on the labeled
# images only (MMSeg's EncoderDecoder, plain BN; the self-training config's
# train_dataloader, which trains its teacher) with the teacher's recipe
# (lr 0.05, weight decay 5e-4, poly to 0) for the teacher's iterations (the
# self-training config's round 0; its validation mIoU is still rising there on
# the held-out seeds, see README).
_base_ = ['./sb_deeplabv3plus_r18_synthetic.py', '../_base_/schedules/poly.py']

model = dict(
    _delete_=True,
    **{
        k: v
        for k, v in _base_.model.items()
        if k not in ('type', 'semi_train_cfg', 'unsup_loss')
    },
    type='EncoderDecoder')
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=0.0005))
param_scheduler = [_base_.poly_scheduler]
# The teacher round's iterations; no rounds, no export.
sb_round_iters = _base_.default_hooks.pseudo_label.round_iters
train_cfg = dict(
    _delete_=True,
    type='IterBasedTrainLoop',
    max_iters=sb_round_iters[0],
    val_interval=_base_.train_cfg.val_interval)
default_hooks = dict(
    _delete_=True,
    **{
        k: v
        for k, v in _base_.default_hooks.items() if k != 'pseudo_label'
    })
custom_hooks = []
