# Copyright (c) mmseg_sb contributors. All rights reserved.
"""tools/export_model.py: a user's mistakes end in a message naming the
value and the fix, not a traceback."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from mmseg.registry import MODELS

from test_demo import load_tool  # isort: skip

export_tool = load_tool('export_model')


def exit_message(*argv):
    """What the tool exits with."""
    with pytest.raises(SystemExit) as e:
        export_tool.main([str(a) for a in argv])
    return str(e.value.code)


@pytest.fixture
def trained(tiny_model_cfg, tmp_path):
    """A config file and a checkpoint of its network."""
    config = str(tmp_path / 'tiny.py')
    Config(dict(model=tiny_model_cfg, default_scope='mmseg')).dump(config)
    checkpoint = str(tmp_path / 'iter_4.pth')
    torch.save(
        dict(state_dict=MODELS.build(tiny_model_cfg).state_dict()), checkpoint)
    return config, checkpoint


def test_mistakes_are_named(trained, tiny_model_cfg, tmp_path):
    config, checkpoint = trained
    out = tmp_path / 'out'
    # An output folder that is a file.
    (tmp_path / 'model.pth').write_text('kept')
    assert exit_message(config, checkpoint, tmp_path / 'model.pth') == (
        f'export_model: Cannot export into {tmp_path}/model.pth: '
        f'{tmp_path}/model.pth is a file. Choose a folder (an existing one, '
        'or a new one to be made) for the export.')
    assert (tmp_path / 'model.pth').read_text() == 'kept'
    # A config that is missing, or no config.
    assert exit_message(tmp_path / 'nothing.py', checkpoint, out) == (
        f'export_model: config {tmp_path}/nothing.py does not exist; pass '
        'the config the checkpoint was trained with (the .py in its work '
        'dir).')
    (tmp_path / 'broken.py').write_text('model = dict(\n')
    assert exit_message(tmp_path / 'broken.py', checkpoint, out).startswith(
        f'export_model: cannot read the config {tmp_path}/broken.py '
        '(SyntaxError')
    # A checkpoint that is no checkpoint, or one of another network.
    (tmp_path / 'notes.pth').write_text('not weights\n')
    message = exit_message(config, tmp_path / 'notes.pth', out)
    assert message.startswith('export_model: ') and str(
        tmp_path / 'notes.pth') in message
    other = str(tmp_path / 'other.py')
    tiny_model_cfg.decode_head.channels = 8
    Config(dict(model=tiny_model_cfg, default_scope='mmseg')).dump(other)
    assert exit_message(other, checkpoint, out).startswith(
        f'export_model: The weights of {checkpoint} do not match the network '
        f'of the config {other}: ')
    assert not osp.exists(out)


def test_export(trained, tmp_path, capsys):
    config, checkpoint = trained
    out = str(tmp_path / 'out')
    export_tool.main([config, checkpoint, out])
    path = osp.realpath(osp.join(out, 'model.pth'))
    assert capsys.readouterr().out == (f'Wrote {path} and {out}/config.py\n')
    assert torch.load(path, weights_only=True)['meta']['source'] == checkpoint
