# Copyright (c) mmseg_sb contributors. All rights reserved.
"""Label any images with a trained model, as the self-training rounds do.

The labeling pass of the rounds (:class:`mmseg_sb.engine.PseudoLabeler`:
the model's test mode, one PNG of train ids per image, written atomically,
each process its share) on the images given, into ``--out`` in the dataset's
own layout (``<out>/city/name<seg_map_suffix>``), with the statistics and the
provenance (weights, images, TTA, pipeline) in ``round_complete.json``. The
images are read as the config's dataset type, the settings (``tta``,
``pipeline``) are those of its ``PseudoLabelHook``. A folder written for the
images and model of a round equals that round's folder file by file, so a run
of the config can train on labels made here.

``--images`` is a folder (every file under it ending with the dataset's
``img_suffix``, as MMSeg reads a folder without ann_file) or a list file in
MMSeg's ann_file format (``city/name`` per line), relative to ``--img-dir``
(default: the config's image folder, ``data_root`` + ``data_prefix.img_path``
of its unlabeled images). A complete ``--out`` with the same provenance is
left as it is; a partial one (no marker) is labeled again.

Usage::

    python tools/pseudo_label.py CONFIG CHECKPOINT --images DIR_OR_LIST
        --out DIR [--img-dir DIR] [--tta | --no-tta]
        [--cfg-options KEY=VALUE ...] [--launcher {none,pytorch,slurm,mpi}]

On several GPUs (or CPU processes, with gloo)::

    python -m torch.distributed.run --nproc_per_node 8 tools/pseudo_label.py
        CONFIG CHECKPOINT --images DIR --out DIR --launcher pytorch
"""
import argparse
import os.path as osp
import sys
from typing import Tuple

import torch
import torch.distributed as dist
import torch.nn as nn
from mmengine.config import Config, DictAction
from mmengine.device import get_device
from mmengine.dist import broadcast_object_list, init_dist, is_main_process
from mmengine.registry import init_default_scope

from mmseg.registry import MODELS
from mmseg_sb.engine import PseudoLabeler
from mmseg_sb.engine.runner_utils import build_image_labeler
from mmseg_sb.utils import COMPLETE_MARKER, is_complete_round, load_teacher
from mmseg_sb.utils.label_round import LabelProvenance, read_round_provenance

#: What the tool does with ``--out`` (decided on rank 0 for all ranks).
LABEL, DONE, REFUSE = 'label', 'done', 'refuse'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        'config',
        help='the config the model was trained with (the .py in its work '
        'dir), or an exported model\'s config.py')
    parser.add_argument(
        'checkpoint',
        help='a checkpoint of that config: of any round, its teacher, or the '
        'exported model')
    parser.add_argument(
        '--images',
        required=True,
        help='a folder of images (all files under it ending with the '
        "dataset's img_suffix) or a list file of `city/name` lines")
    parser.add_argument(
        '--img-dir',
        help='for a list file: the folder its lines are relative to '
        "(default: the config's image folder)")
    parser.add_argument(
        '--out', required=True, help='folder of the labels and the marker')
    parser.add_argument(
        '--tta',
        action=argparse.BooleanOptionalAction,
        default=None,
        help="label with the config's tta_pipeline and MMSeg's SegTTAModel "
        "(default: the config's default_hooks.pseudo_label.tta)")
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, as MMSeg\'s tools do')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    return parser.parse_args(argv)


def check_args(args) -> None:
    """Exit with a message naming a missing file or a bad ``--out``."""
    for name in ('config', 'checkpoint'):
        path = getattr(args, name)
        if not osp.isfile(path):
            sys.exit(f'pseudo_label: {name} {path} does not exist; pass the '
                     'config a model was trained with and a checkpoint of '
                     'it (work_dir/iter_*.pth).')
    if not osp.exists(args.images):
        sys.exit(f'pseudo_label: --images {args.images} does not exist; give'
                 ' a folder of images or a list file of `city/name` lines.')
    if osp.isdir(args.images) and args.img_dir is not None:
        sys.exit(f'pseudo_label: --img-dir is for a list file, and --images '
                 f'{args.images} is a folder; leave --img-dir out.')
    if osp.isfile(args.out):
        sys.exit(f'pseudo_label: --out {args.out} is a file; give a folder '
                 '(a new one, or one this tool wrote).')
    if osp.isdir(args.images) and _inside(args.out, args.images):
        sys.exit(f'pseudo_label: --out {args.out} is inside the folder of '
                 f'--images {args.images}, whose files would then be read as '
                 'images; give a folder outside it.')


def _inside(path: str, folder: str) -> bool:
    path, folder = osp.realpath(path), osp.realpath(folder)
    return osp.commonpath([path, folder]) == folder


def read_config(args) -> Config:
    try:
        cfg = Config.fromfile(args.config)
    except Exception as e:  # a file that is no config fails in many ways
        sys.exit(f'pseudo_label: cannot read the config {args.config} '
                 f'({type(e).__name__}: {e}).')
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    return cfg


def init_processes(launcher: str, cfg: Config) -> None:
    """Join the processes of ``launcher``. Without CUDA, ``pytorch``
    (torchrun) starts gloo on the CPU, as tools/_mmseg_tool.py does for
    training: MMEngine's launcher needs CUDA."""
    if launcher == 'none':
        return
    if launcher == 'pytorch' and not torch.cuda.is_available():
        dist.init_process_group('gloo')
    else:
        init_dist(launcher, **cfg.get('env_cfg', {}).get('dist_cfg', {}))


def load_weights(model: nn.Module, checkpoint: str) -> nn.Module:
    """``model`` with the checkpoint's weights, loaded as the rounds load a
    teacher (:func:`load_teacher`: a plain-BN checkpoint fills both
    branches of every DSBN), in eval mode on the process's device."""
    load_teacher(model, checkpoint, getattr(model, 'teacher_optional_keys',
                                            ()))
    return model.to(get_device()).eval()


def build_labeler(args, cfg: Config, model: nn.Module) -> PseudoLabeler:
    """The labeler of ``--images`` (a folder, or a list relative to
    ``--img-dir``), with the config's labeling settings."""
    is_list = osp.isfile(args.images)
    labeler = build_image_labeler(
        cfg,
        model,
        img_dir=args.img_dir if is_list else args.images,
        ann_file=args.images if is_list else '',
        tta=args.tta)
    if is_list:
        check_list(args, labeler)
    return labeler


def check_list(args, labeler: PseudoLabeler) -> None:
    """Exit naming the first image of a list file that does not exist (with
    the folder its lines were taken relative to)."""
    suffix = labeler.dataset.img_suffix
    paths = [
        labeler.dataset.get_data_info(i)['img_path']
        for i in range(len(labeler.dataset))
    ]
    missing = [p for p in paths if not osp.isfile(p)]
    if not missing:
        return
    hint = 'give the folder the lines are relative to with --img-dir'
    if missing[0].endswith(suffix * 2):
        hint = f'lines are `city/name` without "{suffix}"'
    sys.exit(f'pseudo_label: {len(missing)} of {len(paths)} images of '
             f'{args.images} do not exist, e.g. {missing[0]} (relative to '
             f'{labeler.dataset.data_prefix["img_path"]}); {hint}.')


def one_line(error: Exception) -> str:
    """An error's message on one line, without the text of the error that
    caused it if that has several (torch's): its type stays."""
    text, cause = str(error), error.__cause__
    if cause is not None and '\n' in str(cause).strip():
        text = text.replace(f': {cause}', '')
    return ' '.join(text.split())


def plan(labeler: PseudoLabeler, out: str,
         expected: LabelProvenance) -> Tuple[str, str]:
    """What to do with ``out`` (:data:`LABEL`, :data:`DONE` or
    :data:`REFUSE`) and why."""
    if is_complete_round(out):
        mismatches = expected.mismatches(read_round_provenance(out))
        if mismatches:
            return REFUSE, (
                f'{out} holds complete labels made otherwise: '
                f'{"; ".join(mismatches)}. Delete it to label it again, or '
                'choose another --out.')
        missing = labeler.missing_labels(out)
        if not missing:
            return DONE, (f'{out} already holds these labels (complete, '
                          'same provenance); nothing to do.')
        why = f'{len(missing)} label files missing, e.g. {missing[0]}'
    else:
        why = f'no {COMPLETE_MARKER}: new or interrupted'
    foreign = labeler.foreign_files(out) if osp.isdir(out) else []
    if foreign:
        return REFUSE, (
            f'{out} holds files that are no labels of these images '
            f'({len(foreign)}, e.g. {foreign[0]}), which labeling would '
            'delete; give a new or empty --out.')
    return LABEL, f'labeling into {out} ({why}).'


def main(argv=None):
    args = parse_args(argv)
    check_args(args)
    cfg = read_config(args)
    init_processes(args.launcher, cfg)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    try:
        model = MODELS.build(cfg.model)
        labeler = build_labeler(args, cfg, model)
        model = load_weights(model, args.checkpoint)
    except (OSError, ValueError) as e:
        sys.exit(f'pseudo_label: {one_line(e)}')
    expected = labeler.provenance(
        labeler.weights_hash(model), osp.abspath(args.checkpoint))
    decision = [is_main_process() and plan(labeler, args.out, expected)]
    broadcast_object_list(decision)
    action, message = decision[0]
    if action == REFUSE:
        sys.exit(f'pseudo_label: {message}')
    if is_main_process():
        print(f'pseudo_label: {message}', flush=True)
    if action == LABEL:
        stats = labeler.label_folder(model, args.out, expected)
        if is_main_process():
            print(
                f'pseudo_label: wrote {stats["num_images"]} labels and '
                f'{COMPLETE_MARKER} to {args.out}',
                flush=True)
    if dist.is_initialized():
        dist.destroy_process_group()


if __name__ == '__main__':
    main()
