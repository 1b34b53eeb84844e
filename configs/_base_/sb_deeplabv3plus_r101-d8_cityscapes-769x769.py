# Self-training with DeepLabV3+ R101 on Cityscapes (Yuan et al., ICCV 2021):
# MMSeg's own DeepLabV3+ R101 769x769 config, plus the semi-supervised dataset
# pieces and the self-training schedule. Leaf configs only choose the split.
_base_ = [
    'mmseg::deeplabv3plus/deeplabv3plus_r101-d8_4xb2-80k_cityscapes-769x769.py',  # noqa: E501
    './datasets/semi_cityscapes_769x769.py',
    './schedules/self_training_40k_20k.py',
    './mmseg_sb_runtime.py',
]
custom_imports = dict(imports=['mmseg_sb'], allow_failed_imports=False)

model = dict(
    type='SemiSupervisedEncoderDecoder',
    # Every BN of backbone and head becomes a DSBN (main: weak, aux: strong).
    semi_train_cfg=dict(use_dsbn=True, unsup_weight=1.0),
    unsup_loss=dict(
        type='SelfCorrectionLoss', alpha=1.0, beta=1.0, conf_thresh=0.8),
    # The release: CE averaged over valid pixels only, no auxiliary head.
    decode_head=dict(loss_decode=dict(avg_non_ignore=True)),
    auxiliary_head=None,
    # The paper evaluates whole images (MMSeg's 769 config slides).
    test_cfg=dict(_delete_=True, mode='whole'))

# Round 0 trains the teacher on train_dataloader; each student round on
# student_dataloader, built by SelfTrainingLoop with the round's labels.
train_dataloader = dict(_delete_=True, **_base_.sup_train_dataloader)
optim_wrapper = dict(_delete_=True, **_base_.self_training_optim_wrapper)
param_scheduler = _base_.self_training_scheduler
train_cfg = dict(
    _delete_=True,
    **_base_.self_training_cfg,
    student_dataloader=_base_.student_train_dataloader)
# The rounds (the one place they are given: default_hooks.pseudo_label).
default_hooks = dict(
    checkpoint=_base_.self_training_checkpoint,
    pseudo_label=_base_.pseudo_label_hook,
    **_base_.guard_hooks)
# At the end, the student exported as a plain MMSeg model
# (work_dir/export/: EncoderDecoder, plain norm layers).
custom_hooks = [dict(type='ExportModelHook')]
# DSBN's aux branch gets no gradient in round 0 (weak views only).
find_unused_parameters = True
randomness = dict(seed=1024)
# The release's batch: 8 GPUs x 4 (teacher 4 labeled, students 2 + 2).
auto_scale_lr = dict(enable=False, base_batch_size=32)
