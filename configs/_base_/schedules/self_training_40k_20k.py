# The self-training schedule (METHOD.md sections 1 and 5). Names only (no
# MMSeg key is redefined here); see
# ../sb_deeplabv3plus_r101-d8_cityscapes-769x769.py.
#
# Round 0 trains the teacher on labeled images; each student round starts from
# the previous model, trains on [2 labeled | 2 pseudo] per GPU, and relabels.
# The paper's release ran one student round of 20k iterations by hand
# (8 GPUs x (2 + 2), lr 0.002). Add rounds by extending the lists.
teacher_iters = 40000
student_iters = 20000
round_iters = [teacher_iters, student_iters]
# Teacher lr 0.01 (MMSeg's DeepLabV3+ default); students 0.2 x 0.01 = 0.002
# (the release). Poly decay (power 0.9) restarts every round.
round_lr_mults = [1.0, 0.2]

self_training_optimizer = dict(
    type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0005)
self_training_scheduler = [
    dict(
        type='RoundPolyLR',
        round_iters=round_iters,
        round_mults=round_lr_mults,
        power=0.9,
        eta_min=1e-4,
        by_epoch=False)
]
self_training_cfg = dict(
    type='IterBasedTrainLoop',
    max_iters=sum(round_iters),
    val_interval=student_iters)
# Checkpoints at every round end, so a run stopped while labeling resumes at
# the labeling.
self_training_checkpoint = dict(
    type='CheckpointHook', by_epoch=False, interval=student_iters)
pseudo_label_hook = dict(
    type='PseudoLabelHook',
    round_iters=round_iters,
    teacher_checkpoint=None,
    student_init='teacher',
    tta=False)
