# Copyright (c) mmseg_sb contributors. All rights reserved.
"""The GPU recipes (configs/recipes/): each keeps the release's samples per
optimizer step and its number of optimizer steps, changes nothing but the
per-GPU batch, the accumulation, AMP and what follows from them, builds,
and is what README's "Fewer GPUs" table says it is."""
import glob
import os.path as osp
import re

import pytest
from mmengine.config import Config
from mmengine.runner import Runner

from conftest import REPO, SHRINK  # isort: skip

RECIPES = sorted(glob.glob(osp.join(REPO, 'configs', 'recipes', '*.py')))
#: The release each method's recipes keep: its GPUs and its samples per
#: optimizer step (labeled + unlabeled, both halves) in every round.
RELEASE = dict(sb=(8, 32), unimatch=(4, 16))
#: The keys a recipe may change (besides its own gpus, batch_size and
#: accumulative_counts), as dotted paths.
RECIPE_KEYS = {
    'train_dataloader.batch_size', 'train_dataloader.sampler.batch_size',
    'train_cfg.student_dataloader.batch_size',
    'train_cfg.student_dataloader.sampler.batch_size', 'optim_wrapper.type',
    'optim_wrapper.loss_scale', 'optim_wrapper.accumulative_counts',
    'default_hooks.pseudo_label.round_iters', 'train_cfg.max_iters',
    'train_cfg.val_interval', 'default_hooks.checkpoint.interval',
    'auto_scale_lr.base_batch_size'
}


def reference(path):
    """The top-level config the recipe is for (the release's GPUs)."""
    name = osp.basename(path).rsplit('_', 1)[0] + '.py'
    return osp.join(REPO, 'configs', name)


def flat(node, prefix=''):
    if isinstance(node, dict):
        return {
            key: value
            for k, v in node.items()
            for key, value in flat(v, f'{prefix}{k}.').items()
        }
    return {prefix[:-1]: node}


def test_recipes_cover_1_2_4_8_gpus_for_both_methods():
    found = {(osp.basename(p).split('_')[0], Config.fromfile(p).gpus)
             for p in RECIPES}
    # The 8-GPU Simple Baseline and the 4-GPU UniMatch are the top-level
    # configs themselves.
    assert found | {('sb', 8), ('unimatch', 4)} == {(method, gpus)
                                                    for method in RELEASE
                                                    for gpus in (1, 2, 4, 8)}


@pytest.mark.parametrize('path', RECIPES, ids=osp.basename)
def test_recipe_keeps_the_release_batch_and_steps(path):
    cfg, ref = Config.fromfile(path), Config.fromfile(reference(path))
    method = osp.basename(path).split('_')[0]
    release_gpus, per_step = RELEASE[method]
    acc = cfg.accumulative_counts
    assert cfg.optim_wrapper.get('accumulative_counts', 1) == acc
    loaders = [cfg.train_dataloader]
    if method == 'sb':
        loaders.append(cfg.train_cfg.student_dataloader)
    ref_loaders = [
        ref.train_dataloader,
        ref.train_cfg.get('student_dataloader')
    ]
    for loader, ref_loader in zip(loaders, ref_loaders):
        assert loader.batch_size == cfg.batch_size
        # The same samples per optimizer step as the release.
        assert cfg.gpus * loader.batch_size * acc == per_step == \
            release_gpus * ref_loader.batch_size
        if 'sampler' in loader and 'batch_size' in loader.sampler:
            # [weak | strong] or [labeled | unlabeled] halves per micro-batch.
            assert loader.sampler.batch_size == loader.batch_size
            assert loader.sampler.source_ratio == [1, 1]
    # The release's optimizer steps: iterations x accumulation.
    if method == 'sb':
        rounds = cfg.default_hooks.pseudo_label.round_iters
        assert rounds == [
            n * acc for n in ref.default_hooks.pseudo_label.round_iters
        ]
    else:
        for key in ('max_iters', 'val_interval'):
            assert cfg.train_cfg[key] == ref.train_cfg[key] * acc
        assert cfg.default_hooks.checkpoint.interval == \
            ref.default_hooks.checkpoint.interval * acc
    # --auto-scale-lr: MMEngine's ratio (GPUs x per-GPU batch / base) is 1
    # at the recipe's own GPUs, and the effective batch's ratio elsewhere.
    assert cfg.gpus * cfg.batch_size / cfg.auto_scale_lr.base_batch_size == 1
    # AMP is MMSeg's --amp: AmpOptimWrapper with a dynamic loss scale.
    if cfg.optim_wrapper.type == 'AmpOptimWrapper':
        assert cfg.optim_wrapper.loss_scale == 'dynamic'
    else:
        assert cfg.optim_wrapper.type == 'OptimWrapper'
    # Nothing else changes: lr, model, pipelines, rounds' settings.
    mine, theirs = flat(cfg.to_dict()), flat(ref.to_dict())
    changed = {
        k
        for k in set(mine) | set(theirs) if mine.get(k) != theirs.get(k)
    }
    assert changed - {'gpus', 'batch_size', 'accumulative_counts'} <= \
        RECIPE_KEYS


@pytest.mark.parametrize('path', RECIPES, ids=osp.basename)
def test_recipe_builds(path, tmp_path):
    cfg = Config.fromfile(path)
    cfg.merge_from_dict(SHRINK)
    cfg.work_dir = str(tmp_path)
    runner = Runner.from_cfg(cfg)
    assert runner.world_size == 1
    # One process: MMEngine reverted SyncBN to BN (inside DSBN too).
    assert not any('SyncBatchNorm' in type(m).__name__
                   for m in runner.model.modules())


def readme_rows():
    """README's "Fewer GPUs" table: method, GPUs, per-GPU batch,
    accumulation, AMP and the config, per row."""
    with open(osp.join(REPO, 'README.md'), encoding='utf-8') as f:
        text = f.read()
    table = text.split('| method | GPUs |')[1].split('\n\n')[0]
    rows = []
    for line in table.splitlines()[2:]:
        cells = [c.strip() for c in line.strip('|').split('|')]
        config = re.search(r'configs/\S+\.py', line).group(0)
        rows.append((cells[0], int(cells[1]), cells[2], int(cells[3]),
                     cells[4], config))
    return rows


def test_readme_table_is_the_configs():
    rows = readme_rows()
    assert {osp.join(REPO, r[-1])
            for r in rows} >= set(RECIPES) | {reference(p)
                                              for p in RECIPES}
    for method, gpus, batch, acc, amp, config in rows:
        cfg = Config.fromfile(osp.join(REPO, config))
        assert method == {
            'sb': 'Simple Baseline',
            'unimatch': 'UniMatch'
        }[osp.basename(config).split('_')[0]]
        assert gpus == cfg.get('gpus',
                               RELEASE[osp.basename(config).split('_')[0]][0])
        # '4 + 4 (teacher 8)' or '2 + 2': the halves of the per-GPU batch.
        half = cfg.train_dataloader.batch_size // 2
        assert batch.startswith(f'{half} + {half}')
        assert acc == cfg.optim_wrapper.get('accumulative_counts', 1)
        assert amp == ('fp16' if cfg.optim_wrapper.type == 'AmpOptimWrapper'
                       else 'off')
