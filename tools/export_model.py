# Copyright (c) mmseg_sb contributors. All rights reserved.
"""Export a trained checkpoint as a plain MMSeg model.

Writes OUT_DIR/model-<hash>.pth (state dict and meta; DSBN main branches as
the norm layers they replaced; model.pth links to it) and OUT_DIR/config.py
(MMSeg's EncoderDecoder, plain norm layers, the run's test pipeline and
test_cfg), which MMSeg alone builds, loads, tests and deploys.

Usage: python tools/export_model.py CONFIG CHECKPOINT OUT_DIR
"""
import argparse
import os.path as osp
import sys

from mmengine.config import Config

import mmseg_sb  # noqa: F401  (registers the components of CONFIG)
from mmseg_sb.apis import export_model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        'config', help='the config the checkpoint was '
        'trained with')
    parser.add_argument(
        'checkpoint', help='a checkpoint of any round, '
        'DDP-saved or not')
    parser.add_argument('out_dir')
    args = parser.parse_args(argv)
    if not osp.isfile(args.config):
        sys.exit(f'export_model: config {args.config} does not exist; pass '
                 'the config the checkpoint was trained with (the .py in its '
                 'work dir).')
    try:
        cfg = Config.fromfile(args.config)
    except Exception as e:  # a file that is no config fails in many ways
        sys.exit(f'export_model: cannot read the config {args.config} '
                 f'({type(e).__name__}: {e}).')
    try:
        path = export_model(cfg, args.checkpoint, args.out_dir)
    except (OSError, ValueError) as e:
        sys.exit(f'export_model: {e}')
    print(f'Wrote {path} and {args.out_dir}/config.py')


if __name__ == '__main__':
    main()
