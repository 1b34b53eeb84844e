# One poly decay (power 0.9) to 0 over the whole run, as MMSeg's schedules,
# UniMatch's release and the supervised baselines use it; `end` defaults to
# train_cfg.max_iters, so a config changes the length in one place. A name
# only: a config puts it in place with `param_scheduler = [poly_scheduler]`.
poly_scheduler = dict(type='PolyLR', eta_min=0.0, power=0.9, by_epoch=False)
