# The self-training schedule (Yuan et al., ICCV 2021, sections 3 and 4, and
# its release). Names only (no MMSeg key is redefined here); see
# ../sb_deeplabv3plus_r101-d8_cityscapes-769x769.py.
#
# Round 0 trains the teacher on labeled images; each student round starts from
# the previous model, trains on [2 weak | 2 strong] per GPU, and relabels.
# The release ran one student round of 20k iterations by hand
# (8 GPUs x (2 + 2)). Add rounds by extending the lists.
teacher_iters = 40000
student_iters = 20000
round_iters = [teacher_iters, student_iters]

# SGD, momentum 0.9. The teacher keeps MMSeg's DeepLabV3+ recipe (lr 0.01,
# weight decay 5e-4); student rounds follow the release: lr 0.002 (0.2x) with
# the decode head at 10x (0.02), weight decay 0. Each group of the decode
# head carries its per-round lr multipliers (`round_lr_mults`), which
# RoundPolyLR reads; the weight decay is a per-round constant.
self_training_optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0005),
    paramwise_cfg=dict(
        custom_keys={'decode_head': dict(round_lr_mults=[1.0, 10.0])}),
    clip_grad=None)
self_training_scheduler = [
    # Poly (power 0.9) to 0 in every round, as the release.
    dict(
        type='RoundPolyLR',
        round_iters=round_iters,
        round_mults=[1.0, 0.2],
        power=0.9,
        eta_min=0.0,
        by_epoch=False),
    # A per-round constant (power 0): 5e-4 for the teacher, 0 for students.
    dict(
        type='RoundPolyParamScheduler',
        param_name='weight_decay',
        round_iters=round_iters,
        round_mults=[1.0, 0.0],
        power=0.0,
        by_epoch=False),
]
self_training_cfg = dict(
    type='IterBasedTrainLoop',
    max_iters=sum(round_iters),
    val_interval=student_iters)
# Checkpoints at every round end, so a run stopped while labeling resumes at
# the labeling.
self_training_checkpoint = dict(
    type='CheckpointHook', by_epoch=False, interval=student_iters)
# Labels made with MMSeg's own Cityscapes test-time augmentation
# (`tta_pipeline`: flip x scales 0.5, 0.75, 1.0, 1.25, 1.5, 1.75). The
# release's label files say flip + multi-scale but not which scales; these
# are the standard DeepLab multi-scale set, which MMSeg ships.
pseudo_label_hook = dict(
    type='PseudoLabelHook',
    round_iters=round_iters,
    teacher_checkpoint=None,
    student_init='teacher',
    tta=True)
