# Copyright (c) mmseg_sb contributors. All rights reserved.
"""The logits that bench/end_to_end.py compares: one image through a
segmentor's own data preprocessor and ``encode_decode``, in full fp32 (no
TF32, no cuDNN autotuning, so that two processes' kernels agree to
rounding).

Run as a script, it is the plain-MMSeg side: in a fresh interpreter that
never imports mmseg_sb, MMSeg builds the exported config, loads its weights
strictly and saves the logits. Imports nothing of mmseg_sb.

Usage: python bench/_plain_logits.py CONFIG WEIGHTS IMAGE DEVICE OUT
"""
import sys

import cv2
import torch


def logits(model, image: str) -> torch.Tensor:
    """fp32 logits of ``model`` (eval mode) on the image file ``image``."""
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    model.eval()
    img = torch.from_numpy(cv2.imread(image)).permute(2, 0, 1).contiguous()
    with torch.no_grad():
        inputs = model.data_preprocessor(dict(inputs=[img]), False)['inputs']
        shape = tuple(inputs.shape[-2:])
        metas = [dict(img_shape=shape, pad_shape=shape, ori_shape=shape)]
        return model.encode_decode(inputs, metas).float().cpu()


def main(config, weights, image, device, out):
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from mmseg.registry import MODELS
    cfg = Config.fromfile(config)
    assert 'custom_imports' not in cfg, 'the exported config imports plugins'
    init_default_scope('mmseg')
    cfg.model.pretrained = None
    model = MODELS.build(cfg.model).to(device)
    state = torch.load(weights, map_location=device, weights_only=True)
    model.load_state_dict(state['state_dict'], strict=True)
    torch.save(logits(model, image), out)
    assert not any(m.startswith('mmseg_sb') for m in sys.modules), 'imported'
    print(type(model).__name__)


if __name__ == '__main__':
    main(*sys.argv[1:6])
