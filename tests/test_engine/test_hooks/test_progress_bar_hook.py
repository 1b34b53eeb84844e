# Copyright (c) mmseg_sb contributors. All rights reserved.
import io
import json
import os.path as osp
import re
from types import SimpleNamespace

import pytest
from mmengine.logging import MessageHub
from mmengine.runner import Runner

from mmseg.registry import HOOKS
from mmseg_sb.engine import ProgressBarHook


def final_lines(text):
    """What a terminal shows of ``text``: each line as its last ``\\r``
    left it."""
    return [line.split('\r')[-1] for line in text.split('\n')]


@pytest.mark.slow
def test_a_bar_per_round_and_a_line_per_labeling_pass(semi_runner_cfg):
    stream = io.StringIO()
    runner = Runner.from_cfg(semi_runner_cfg(round_iters=(2, 3, 3)))
    runner.register_hook(ProgressBarHook(stream=stream))
    runner.train()
    lines = final_lines(stream.getvalue())
    assert len(lines) == 6 and lines[-1] == ''
    for line, (name, total) in zip(lines[0:5:2], [('teacher round 0', 2),
                                                  ('student round 1', 3),
                                                  ('student round 2', 3)]):
        assert re.fullmatch(
            rf'  {name} +\[#{{30}}\] +{total}/{total} it, +\d+ s', line), line
    # One line per labeling pass, with the statistics its round's marker
    # holds.
    for r, line in ((1, lines[1]), (2, lines[3])):
        with open(
                osp.join(runner.work_dir, 'pseudo_labels', f'round_{r}',
                         'round_complete.json')) as f:
            stats = json.load(f)
        assert re.fullmatch(
            rf'  labeling round {r}: {stats["num_images"]} images, \d+ s, '
            rf'mean confidence {stats["mean_confidence"]:.3f}, '
            rf'pseudo-label mIoU {100 * stats["mIoU"]:.2f}', line), line
    assert stats['num_images'] == 10


def fake_runner(max_iters, work_dir='.'):
    """What the hook reads of a runner without rounds (its train loop has
    none, as MMEngine's IterBasedTrainLoop)."""
    return SimpleNamespace(
        iter=0,
        max_iters=max_iters,
        train_loop=SimpleNamespace(),
        work_dir=work_dir,
        message_hub=MessageHub.get_instance('test_progress_bar_hook'))


@pytest.mark.parametrize('max_iters,draws', [(7, 7), (1000, 100), (1099, 110)])
def test_a_plain_run_draws_one_bar_every_hundredth(max_iters, draws):
    stream = io.StringIO()
    hook = ProgressBarHook('supervised', width=10, stream=stream)
    runner = fake_runner(max_iters)
    hook.before_train(runner)
    for it in range(max_iters):
        runner.iter = it
        hook.before_train_iter(runner, it)
        hook.after_train_iter(runner, it)
    hook.after_train(runner)
    text = stream.getvalue()
    assert text.count('\r') == draws and text.endswith('\n')
    assert text.count('\n') == 1
    assert re.fullmatch(
        rf'  supervised +\[#{{10}}\] +{max_iters}/{max_iters} it, +\d+ s',
        final_lines(text)[0])
    if max_iters == 1000:
        assert '[#####.....]   500/1000 it' in text


def test_labeling_line_shows_what_the_marker_holds():
    line = ProgressBarHook.labeling_line(
        3, dict(num_images=42, mean_confidence=0.91234, mIoU=0.4892), 12.4)
    assert line == ('  labeling round 3: 42 images, 12 s, mean confidence '
                    '0.912, pseudo-label mIoU 48.92\n')
    # Without ground truth on the unlabeled images there is no mIoU.
    assert ProgressBarHook.labeling_line(1, dict(num_images=5), 0.2) == \
        '  labeling round 1: 5 images, 0 s\n'


def test_built_from_a_config_and_checked():
    hook = HOOKS.build(dict(type='ProgressBarHook', stage='x'))
    assert hook.stage == 'x' and hook.stream is None
    with pytest.raises(ValueError, match='width=0'):
        ProgressBarHook(width=0)
