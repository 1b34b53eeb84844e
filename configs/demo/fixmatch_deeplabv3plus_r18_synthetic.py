# FixMatch on the demo data: the UniMatch demo config with one strong view
# and no feature-perturbation stream, loss (sup + strong) / 2.
_base_ = './unimatch_deeplabv3plus_r18_synthetic.py'

model = dict(
    type='FixMatchEncoderDecoder',
    feature_dropout=0.,
    loss_weights=dict(_delete_=True, sup=0.5, strong=(0.5, ), fp=0.))
train_dataloader = dict(
    dataset=dict(datasets=[
        _base_.train_dataloader.dataset.datasets[0],
        dict(
            _base_.train_dataloader.dataset.datasets[1],
            pipeline=[
                *_base_.unlabeled_pipeline[:-1],
                dict(
                    type='MultiView',
                    views=dict(
                        weak=[dict(type='PackSegInputs')],
                        strong_1=_base_.online_strong_view))
            ])
    ]))
