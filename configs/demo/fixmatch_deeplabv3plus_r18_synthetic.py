# FixMatch on the demo data: the UniMatch demo config with one strong view
# and no feature-perturbation stream, loss (sup + strong) / 2.
_base_ = './unimatch_deeplabv3plus_r18_synthetic.py'

model = dict(
    type='FixMatchEncoderDecoder',
    semi_train_cfg=dict(
        feature_dropout=0., unsup_weight=dict(_delete_=True, strong_1=0.5)))
unlabeled_pipeline = [*_base_.unlabeled_pipeline[:-1], _base_.fixmatch_views]
train_dataloader = dict(
    dataset=dict(unlabeled=dict(pipeline=unlabeled_pipeline)))
