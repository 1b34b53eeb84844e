# FixMatch (Sohn et al., NeurIPS 2020) as UniMatch's release runs it: the
# UniMatch config with one strong view and no feature-perturbation stream,
# loss (sup + strong) / 2.
_base_ = './unimatch_deeplabv3plus_r101-d8_cityscapes-801x801.py'

model = dict(
    type='FixMatchEncoderDecoder',
    semi_train_cfg=dict(
        feature_dropout=0., unsup_weight=dict(_delete_=True, strong_1=0.5)))
fixmatch_unlabeled_pipeline = [
    *_base_.unlabeled_pipeline[:-1], _base_.fixmatch_views
]
train_dataloader = dict(
    dataset=dict(unlabeled=dict(pipeline=fixmatch_unlabeled_pipeline)))
