# The self-training schedule (Yuan et al., ICCV 2021, sections 3 and 4, and
# its release). Names only (no MMSeg key is redefined here); see
# ../sb_deeplabv3plus_r101-d8_cityscapes-769x769.py.
#
# Round 0 trains the teacher on labeled images; each student round starts from
# the previous model, trains on [2 weak | 2 strong] per GPU, and relabels.
# The release ran one student round of 20k iterations by hand
# (8 GPUs x (2 + 2)).
#
# The rounds are given once, in the hook: `round_iters` (a leaf or
# `--cfg-options default_hooks.pseudo_label.round_iters=[40000,20000,20000]`
# adds a round). SelfTrainingLoop derives max_iters, validation and
# checkpoints at every round end, and the schedulers' rounds from it; the
# per-round multipliers below hold their last value for later rounds.
#
# Labels made with MMSeg's own Cityscapes test-time augmentation
# (`tta_pipeline`: flip x scales 0.5, 0.75, 1.0, 1.25, 1.5, 1.75). The
# release's label files say flip + multi-scale but not which scales; these
# are the standard DeepLab multi-scale set, which MMSeg ships.
pseudo_label_hook = dict(
    type='PseudoLabelHook',
    round_iters=[40000, 20000],
    teacher_checkpoint=None,
    student_init='teacher',
    tta=True)
self_training_cfg = dict(type='SelfTrainingLoop')
# Checkpoints at every round end only (a run stopped while labeling resumes
# at the labeling); a positive interval is reduced to land on round ends.
# Saved atomically: a kill during a save leaves the previous checkpoint.
self_training_checkpoint = dict(
    type='AtomicCheckpointHook', by_epoch=False, interval=-1)

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
        round_mults=[1.0, 0.2],
        power=0.9,
        eta_min=0.0,
        by_epoch=False),
    # A per-round constant (power 0): 5e-4 for the teacher, 0 for students.
    dict(
        type='RoundPolyParamScheduler',
        param_name='weight_decay',
        round_mults=[1.0, 0.0],
        power=0.0,
        by_epoch=False),
]
