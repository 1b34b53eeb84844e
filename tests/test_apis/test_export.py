# Copyright (c) mmseg_sb contributors. All rights reserved.
"""A trained self-training model, exported, runs in MMSeg alone."""
import os.path as osp
import re
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from mmseg.registry import MODELS
from mmseg_sb.apis import export_model, plain_state_dict
from mmseg_sb.utils import load_state_dict

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
METAS = [dict(img_shape=(32, 64), pad_shape=(32, 64), ori_shape=(32, 64))]

#: Runs in a fresh interpreter that never imports mmseg_sb: builds the
#: exported config with MMSeg, loads the weights strictly, saves the logits.
PLAIN_MMSEG = '''
import sys
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS
out_dir, inputs, out = sys.argv[1:4]
cfg = Config.fromfile(out_dir + '/config.py')
assert 'custom_imports' not in cfg, 'the exported config imports plugins'
init_default_scope('mmseg')
cfg.model.pretrained = None
model = MODELS.build(cfg.model).eval()
ckpt = torch.load(out_dir + '/model.pth', map_location='cpu',
                  weights_only=True)
model.load_state_dict(ckpt['state_dict'], strict=True)
metas = [dict(img_shape=(32, 64), pad_shape=(32, 64), ori_shape=(32, 64))]
with torch.no_grad():
    logits = model.encode_decode(torch.load(inputs), metas)
torch.save(dict(logits=logits, meta=ckpt['meta']), out)
assert not any(m.startswith('mmseg_sb') for m in sys.modules), 'imported'
print(type(model).__name__)
'''


def config_file(path, **cfg):
    """``cfg`` as a config read from a file at ``path``."""
    Config(cfg).dump(path)
    return Config.fromfile(path)


def self_training_logits(cfg, checkpoint, inputs):
    model = MODELS.build(cfg.model)
    state, _ = load_state_dict(checkpoint)
    model.load_state_dict(state, strict=True)
    model.eval()
    with torch.no_grad():
        return model.encode_decode(inputs, METAS)


def run_plain_mmseg(out_dir, inputs, tmp_path):
    torch.save(inputs, str(tmp_path / 'inputs.pth'))
    result = subprocess.run([
        sys.executable, '-c', PLAIN_MMSEG, out_dir,
        str(tmp_path / 'inputs.pth'),
        str(tmp_path / 'logits.pth')
    ],
                            cwd=str(tmp_path),
                            capture_output=True,
                            text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == 'EncoderDecoder'
    return torch.load(str(tmp_path / 'logits.pth'))


@pytest.mark.slow
def test_export_runs_in_mmseg_alone(semi_runner_cfg, tmp_path):
    cfg = semi_runner_cfg(round_iters=(2, 2, 2))
    runner = Runner.from_cfg(cfg)
    runner.train()
    torch.manual_seed(0)
    inputs = torch.randn(2, 3, 32, 64)
    # Automatic export of the last student at the end of training.
    auto = osp.join(cfg.work_dir, 'export')
    last = osp.join(cfg.work_dir, 'iter_6.pth')
    got = run_plain_mmseg(auto, inputs, tmp_path)
    torch.testing.assert_close(
        got['logits'],
        self_training_logits(cfg, last, inputs),
        rtol=0,
        atol=1e-5)
    assert (got['meta']['round'], got['meta']['iteration']) == (2, 6)
    # tools/export_model.py on a checkpoint of round 1, with the run's
    # config as MMEngine dumped it.
    out_dir = str(tmp_path / 'round_1')
    ckpt = osp.join(cfg.work_dir, 'iter_4.pth')
    cfg.dump(str(tmp_path / 'run_config.py'))
    result = subprocess.run([
        sys.executable, 'tools/export_model.py',
        str(tmp_path / 'run_config.py'), ckpt, out_dir
    ],
                            cwd=REPO,
                            capture_output=True,
                            text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    name = osp.basename(osp.realpath(osp.join(out_dir, 'model.pth')))
    assert name.startswith('model-') and len(name) == len('model-12345678.pth')
    got = run_plain_mmseg(out_dir, inputs, tmp_path)
    torch.testing.assert_close(
        got['logits'],
        self_training_logits(cfg, ckpt, inputs),
        rtol=0,
        atol=1e-5)
    assert got['meta']['round'] == 1 and got['meta']['iteration'] == 4


def test_supervised_and_ddp_checkpoints(tiny_model_cfg, tmp_path):
    """A plain-BN checkpoint converts to itself; DDP's ``module.`` prefixes
    are stripped."""
    plain_cfg = tiny_model_cfg.copy()
    plain_cfg['type'] = 'EncoderDecoder'
    state = MODELS.build(plain_cfg).state_dict()
    converted = plain_state_dict(plain_cfg, state)
    assert list(converted) == list(state)
    assert all(converted[k] is state[k] for k in state)

    semi = MODELS.build(tiny_model_cfg)
    cfg = config_file(
        str(tmp_path / 'tiny.py'), model=tiny_model_cfg, default_scope='mmseg')
    torch.save(dict(state_dict=semi.state_dict()), str(tmp_path / 'a.pth'))
    torch.save(
        dict(state_dict={
            f'module.{k}': v
            for k, v in semi.state_dict().items()
        }), str(tmp_path / 'ddp.pth'))
    exported = []
    for name in ('a', 'ddp'):
        path = export_model(cfg, str(tmp_path / f'{name}.pth'),
                            str(tmp_path / f'out_{name}'))
        exported.append(torch.load(path, weights_only=True)['state_dict'])
    assert list(exported[0]) == list(exported[1])
    assert all(
        torch.equal(exported[0][k], exported[1][k]) for k in exported[0])
    assert not any('.aux.' in k or '.main.' in k for k in exported[0])
    assert list(exported[0]) == list(plain_state_dict(plain_cfg, state))


def test_bad_input_names_the_problem(tiny_model_cfg, tmp_path):
    cfg = config_file(
        str(tmp_path / 'tiny.py'), model=tiny_model_cfg, default_scope='mmseg')
    out = str(tmp_path / 'o')
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        export_model(cfg, str(tmp_path / 'missing.pth'), out)
    good = str(tmp_path / 'a.pth')
    torch.save(
        dict(state_dict=MODELS.build(tiny_model_cfg).state_dict()), good)
    # Files that are no checkpoint: text, empty, a torch.save zip cut short.
    with open(good, 'rb') as f:
        data = f.read()
    for name, content in (('text.pth', b'hello\n'), ('empty.pth', b''),
                          ('cut.pth', data[:len(data) // 2])):
        path = str(tmp_path / name)
        with open(path, 'wb') as f:
            f.write(content)
        with pytest.raises(ValueError, match=re.escape(path)):
            export_model(cfg, path, out)
    # A checkpoint of another network: its keys, then its shapes.
    torch.save(
        dict(state_dict={'head.weight': torch.zeros(2)}),
        str(tmp_path / 'keys.pth'))
    with pytest.raises(
            ValueError,
            match=r'the config .*/tiny.py: \d+ missing keys .*'
            r"1 unexpected keys \(e.g. \['head.weight'\]\)"):
        export_model(cfg, str(tmp_path / 'keys.pth'), out)
    other_model = tiny_model_cfg.copy()
    other_model.decode_head.channels = 8
    other = config_file(
        str(tmp_path / 'other.py'), model=other_model, default_scope='mmseg')
    with pytest.raises(ValueError) as e:
        export_model(other, good, out)
    assert re.search(
        r'do not match the network of the config .*/other.py: \d+ keys of '
        r"another shape \(e.g. \['decode_head.conv_seg.weight is "
        r'\[19, 16, 1, 1\], not \[19, 8, 1, 1\]', str(e.value))
    assert len(str(e.value)) < 600  # not a line per weight
    assert not osp.exists(out)
    # A config without a model.
    data = config_file(str(tmp_path / 'data.py'), crop_size=(8, 8))
    with pytest.raises(
            ValueError,
            match=re.escape(f'The config {tmp_path}/data.py has no model')):
        export_model(data, good, out)
    # An output folder that is a file, or under one.
    with open(str(tmp_path / 'file'), 'w') as f:
        f.write('kept')
    for out_dir in ('file', osp.join('file', 'sub')):
        with pytest.raises(
                NotADirectoryError,
                match=re.escape(
                    f'Cannot export into {tmp_path / out_dir}: '
                    f'{tmp_path / "file"} is a file. Choose a folder')):
            export_model(cfg, good, str(tmp_path / out_dir))
    assert (tmp_path / 'file').read_text() == 'kept'
