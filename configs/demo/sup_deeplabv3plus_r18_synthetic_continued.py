# The demo's control: the supervised baseline (load_from, set by
# tools/demo.py) trained on for as many iterations as the student rounds, on
# the labeled images only, with the students' optimizer settings (lr x 0.2,
# decode head x 10, weight decay 0, poly to 0), so that "more iterations"
# alone cannot explain a gain of the students.
_base_ = './sup_deeplabv3plus_r18_synthetic.py'

optim_wrapper = dict(
    optimizer=dict(lr=0.05 * 0.2, weight_decay=0.0),
    paramwise_cfg=dict(custom_keys={'decode_head': dict(lr_mult=10.0)}))
# The iterations of the student rounds (of the self-training demo config).
train_cfg = dict(max_iters=sum(_base_.sb_round_iters[1:]))
