# FixMatch on the demo data: the UniMatch demo config with one strong view
# and no feature-perturbation stream, loss (sup + strong) / 2.
_base_ = './unimatch_deeplabv3plus_r18_synthetic.py'

model = dict(
    type='FixMatchEncoderDecoder',
    semi_train_cfg=dict(
        feature_dropout=0., unsup_weight=dict(_delete_=True, strong_1=0.5)))
unlabeled = dict(
    _base_.unlabeled,
    pipeline=[
        *_base_.unlabeled_pipeline[:-1],
        dict(
            type='MultiView',
            views=dict(
                weak=[dict(type='PackSegInputs')],
                strong_1=_base_.online_strong_view))
    ])
train_dataloader = dict(dataset=dict(datasets=[_base_.labeled, unlabeled]))
