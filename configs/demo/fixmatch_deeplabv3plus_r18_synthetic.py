# FixMatch on the demo data: the UniMatch demo config with one strong view
# and no feature-perturbation stream, loss (sup + strong) / 2.
_base_ = './unimatch_deeplabv3plus_r18_synthetic.py'

model = dict(
    type='FixMatchEncoderDecoder',
    semi_train_cfg=dict(
        feature_dropout=0., unsup_weight=dict(_delete_=True, strong_1=0.5)))
# UniMatch's views without the second strong one.
unlabeled_pipeline = [
    *_base_.unlabeled_pipeline[:-1],
    dict(
        type='MultiView',
        views={
            k: v
            for k, v in _base_.unlabeled_pipeline[-1].views.items()
            if k != 'strong_2'
        })
]
train_dataloader = dict(
    dataset=dict(unlabeled=dict(pipeline=unlabeled_pipeline)))
