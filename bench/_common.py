# Copyright (c) mmseg_sb contributors. All rights reserved.
"""Shared by the benchmarks: the models (the project's DeepLabV3+ Cityscapes
config, as our self-training segmentor and as MMSeg's plain EncoderDecoder)
and the report."""
import os.path as osp

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmseg.registry import MODELS
from mmseg_sb.apis import plain_model_cfg

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
#: Mixed precisions of the benches (``fp32`` is the plain step).
DTYPES = dict(fp16=torch.float16, bf16=torch.bfloat16)
PRECISIONS = ('fp32', *DTYPES)
CONFIG = osp.join(
    REPO, 'configs/_base_/sb_deeplabv3plus_r101-d8_cityscapes-769x769.py')
UNIMATCH_CONFIG = osp.join(
    REPO, 'configs/_base_',
    'unimatch_deeplabv3plus_r101-d8_cityscapes-801x801.py')
#: Channel changes for a ResNet-18 backbone.
R18 = {
    'backbone.depth': 18,
    'decode_head.in_channels': 512,
    'decode_head.c1_in_channels': 64,
}


def shrink(model: dict, depth: int, crop: tuple) -> dict:
    """``model`` with ``depth``, ``crop``, plain BN (one process) and no
    ImageNet weights."""
    model.pretrained = None
    model.data_preprocessor.size = crop
    for part in ('backbone', 'decode_head'):
        model[part].norm_cfg = dict(type='BN', requires_grad=True)
    if depth == 18:
        for key, value in R18.items():
            part, name = key.split('.')
            model[part][name] = value
    else:
        model.backbone.depth = depth
    return model


def unimatch_cfg(depth: int, crop: tuple):
    """The UniMatch Cityscapes config's model (OHEM, paper's weights),
    shrunk as :func:`model_cfgs`."""
    init_default_scope('mmseg')
    return shrink(Config.fromfile(UNIMATCH_CONFIG).model, depth, crop)


def model_cfgs(depth: int, crop: tuple):
    """(ours, MMSeg's) model configs, identical but for the segmentor type,
    DSBN and the unsupervised loss. ``norm_cfg`` is plain BN (one process)."""
    init_default_scope('mmseg')
    cfg = Config.fromfile(CONFIG)
    ours = shrink(cfg.model, depth, crop)
    return ours, plain_model_cfg(ours)


def runs_on(precision: str, device: str) -> bool:
    """Whether ``precision`` runs on ``device``: autocast to fp16 needs a
    GPU."""
    return precision != 'fp16' or device.startswith('cuda')


def build(cfg, device):
    return MODELS.build(cfg).to(device)


def report(lines, out=None):
    """Print the table (the ratio last) and append it to ``out``."""
    text = '\n'.join(lines)
    print(text)
    if out:
        with open(out, 'a') as f:
            f.write(text + '\n')
