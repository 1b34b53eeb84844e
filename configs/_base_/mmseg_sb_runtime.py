# The hooks that guard every training run of this project, beside MMSeg's
# defaults (names only, so this piece can sit in a `_base_` list; each
# method's base config adds them to its `default_hooks`):
# - work_dir_lock: one training run per work dir at a time (a second run
#   stops at once, naming the first one's PID and host);
# - check_inputs: before training, every split file, image and label file
#   the run reads, with errors naming the file; `decode=False` checks only
#   that the files exist, for huge sets.
guard_hooks = dict(
    work_dir_lock=dict(type='WorkDirLockHook'),
    check_inputs=dict(type='CheckInputsHook', decode=True))
