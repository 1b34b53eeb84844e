# Copyright (c) mmseg_sb contributors. All rights reserved.
"""One self-training iteration (2 weak + 2 strong views, one of them labeled,
three pseudo-labeled, as the release's batches at 1/8 mostly are; DSBN,
self-correction loss) vs MMSeg's supervised iteration on 4 labeled images:
same model, crop and optimizer, measured side by side. The UniMatch
iteration of its Cityscapes config (2 labeled images + 2 unlabeled ones in a
weak and two strong views, one CutMixed; feature stream; OHEM) is measured
in the same run and reported relative to the self-training one: the
per-GPU batches of the two methods' releases.

Time: median of interleaved iterations (``model.train_step`` with an SGD
OptimWrapper, as the Runner runs it). Memory: the peak of the tensor memory
allocated by one iteration above what the model and its optimizer state hold
after a first one: ``torch.cuda.max_memory_allocated`` on a GPU; on a CPU the
same quantity from PyTorch profiler's memory timeline (the resident set size
is no substitute: the C allocator keeps freed blocks, so it measured 1.10 to
1.14 times MMSeg's step where the tensors need 1.00).

Precision: ``fp32``, and with ``--precision`` also mixed precision as
``tools/train.py --amp`` runs it, MMEngine's ``AmpOptimWrapper`` (fp16 with a
dynamic loss scale, or bf16). ``AmpOptimWrapper`` needs a GPU; on a CPU,
``bf16`` runs the same step under ``torch.autocast('cpu', torch.bfloat16)``
and ``fp16`` is skipped. A variant that fails is reported as failed and the
others still run. The loss column is each variant's first step on the same
weights and batch, so precisions compare directly.

Usage: python bench/train_step.py [--depth 18] [--crop 256] [--iters 20]
                                  [--device cpu] [--precision fp32 bf16 ...]
                                  [--out FILE]
"""
import argparse
import contextlib
import json
import os.path as osp
import tempfile
import time

import numpy as np
import torch
from mmengine.optim import AmpOptimWrapper, OptimWrapper
from mmengine.structures import PixelData
from torch.profiler import ProfilerActivity, profile

from mmseg.structures import SegDataSample

from _common import DTYPES, PRECISIONS, build, report  # isort: skip
from _common import model_cfgs, runs_on, unimatch_cfg  # isort: skip

#: The variants measured side by side.
VARIANTS = ('ours', 'mmseg', 'unimatch')


class CPUAutocastOptimWrapper(OptimWrapper):
    """The forward pass under ``torch.autocast('cpu', bfloat16)``: what
    ``AmpOptimWrapper`` does on a GPU, for a CPU run of the bench."""

    @contextlib.contextmanager
    def optim_context(self, model):
        with super().optim_context(model), torch.autocast(
                'cpu', dtype=torch.bfloat16):
            yield


def make_wrapper(model, precision, device):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    if precision == 'fp32':
        return OptimWrapper(optimizer)
    if device.startswith('cuda'):  # as tools/train.py --amp
        return AmpOptimWrapper(
            optimizer=optimizer, loss_scale='dynamic', dtype=DTYPES[precision])
    if precision == 'bf16':
        return CPUAutocastOptimWrapper(optimizer)
    raise NotImplementedError('fp16 autocast needs a GPU')


def make_batch(pseudo, crop, seed=0, views=True):
    """A collated batch as the dataloader gives it (uint8 CHW images): a weak
    then a strong half, ``pseudo[i]`` telling each sample's kind; by view
    (a student's batch), or without views (MMSeg's supervised batch)."""
    g = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    h, w = crop
    for i, is_pseudo in enumerate(pseudo):
        inputs.append(
            torch.randint(0, 256, (3, h, w), generator=g, dtype=torch.uint8))
        label = torch.randint(0, 19, (1, h, w), generator=g)
        s = SegDataSample(
            metainfo=dict(
                img_shape=crop,
                ori_shape=crop,
                pad_shape=crop,
                is_pseudo=is_pseudo))
        s.gt_sem_seg = PixelData(data=label)
        samples.append(s)
    if not views:
        return dict(inputs=inputs, data_samples=samples)
    half = len(pseudo) // 2
    return dict(
        inputs=dict(weak=inputs[:half], strong=inputs[half:]),
        data_samples=dict(weak=samples[:half], strong=samples[half:]))


def make_multi_view_batch(crop, num_sup=2, num_unsup=2, seed=0):
    """A collated UniMatch batch: ``num_sup`` labeled images, and a weak and
    two strong views of ``num_unsup`` unlabeled ones (the first strong view
    of the first image CutMixed in a quarter of the crop)."""
    g = torch.Generator().manual_seed(seed)
    h, w = crop

    def images(n):
        return [
            torch.randint(0, 256, (3, h, w), generator=g, dtype=torch.uint8)
            for _ in range(n)
        ]

    def samples(n, box=None, labeled=False):
        out = []
        for i in range(n):
            s = SegDataSample(
                metainfo=dict(
                    img_shape=crop,
                    ori_shape=crop,
                    pad_shape=crop,
                    cutmix_box=box if i == 0 else None))
            if labeled:
                s.gt_sem_seg = PixelData(
                    data=torch.randint(0, 19, (1, h, w), generator=g))
            out.append(s)
        return out

    return dict(
        inputs=dict(
            sup=images(num_sup),
            weak=images(num_unsup),
            strong_1=images(num_unsup),
            strong_2=images(num_unsup)),
        data_samples=dict(
            sup=samples(num_sup, labeled=True),
            weak=samples(num_unsup),
            strong_1=samples(num_unsup, (0, 0, h // 2, w // 2)),
            strong_2=samples(num_unsup)))


def setup(variant, depth, crop, device, precision='fp32'):
    ours_cfg, mmseg_cfg = model_cfgs(depth, crop)
    cfgs = dict(ours=ours_cfg, mmseg=mmseg_cfg)
    if variant == 'unimatch':
        cfgs['unimatch'] = unimatch_cfg(depth, crop)
    torch.manual_seed(0)
    model = build(cfgs[variant], device)
    model.train()
    wrapper = make_wrapper(model, precision, device)
    batch = dict(
        ours=lambda: make_batch([False, True, True, True], crop),
        mmseg=lambda: make_batch([False] * 4, crop, views=False),
        unimatch=lambda: make_multi_view_batch(crop))[variant]()
    return model, wrapper, batch


def step(model, wrapper, batch, device, losses=None):
    if device.startswith('cuda'):
        torch.cuda.synchronize()
    start = time.perf_counter()
    log_vars = model.train_step(batch, wrapper)
    if device.startswith('cuda'):
        torch.cuda.synchronize()
    if losses is not None:
        losses.append(float(log_vars['loss']))
    return time.perf_counter() - start


def cpu_peak_growth(model, wrapper, batch) -> float:
    """Peak tensor memory (MB) of one CPU iteration above the memory held at
    its start, from the profiler's memory timeline."""
    with profile(
            activities=[ProfilerActivity.CPU],
            profile_memory=True,
            record_shapes=True,
            with_stack=True) as prof:
        step(model, wrapper, batch, 'cpu')
    with tempfile.TemporaryDirectory() as tmp:
        path = osp.join(tmp, 'memory_timeline.json')
        prof.export_memory_timeline(path, device='cpu')
        with open(path) as f:
            _, sizes = json.load(f)  # per time: bytes per tensor category
    totals = [sum(at_time) for at_time in sizes]
    return (max(totals) - totals[0]) / 2**20


def peak_memory_mb(variant, depth, crop, device, precision):
    model, wrapper, batch = setup(variant, depth, crop, device, precision)
    step(model, wrapper, batch, device)  # optimizer state exists now
    if not device.startswith('cuda'):
        return cpu_peak_growth(model, wrapper, batch)
    torch.cuda.synchronize()
    base = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    step(model, wrapper, batch, device)
    peak = torch.cuda.max_memory_allocated() - base
    del model, wrapper, batch
    torch.cuda.empty_cache()
    return peak / 2**20


def measure(args, precision):
    """{variant: (median ms, peak MB, first loss)} at ``precision``; the
    error text instead for a variant that fails."""
    crop = (args.crop, args.crop)
    runs, results = {}, {}
    for v in VARIANTS:
        try:
            runs[v] = setup(v, args.depth, crop, args.device, precision)
        except Exception as e:  # reported in the table, the others go on
            results[v] = f'failed: {type(e).__name__}: {e}'[:160]
    times = {v: [] for v in runs}
    losses = {v: [] for v in runs}
    for i in range(args.iters + 3):  # 3 warm-up iterations
        for v in list(runs):
            try:
                t = step(*runs[v][:3], args.device, losses[v])
            except Exception as e:
                results[v] = f'failed: {type(e).__name__}: {e}'[:160]
                del runs[v]
                continue
            if i >= 3:
                times[v].append(t)
    ok = list(runs)
    del runs
    for v in ok:
        try:
            mem = peak_memory_mb(v, args.depth, crop, args.device, precision)
        except Exception as e:
            results[v] = f'failed: {type(e).__name__}: {e}'[:160]
            continue
        results[v] = (1000 * float(np.median(times[v])), mem, losses[v][0])
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--depth', type=int, default=18)
    parser.add_argument('--crop', type=int, default=256)
    parser.add_argument('--iters', type=int, default=20)
    parser.add_argument('--device', default='cpu')
    parser.add_argument(
        '--precision', nargs='+', choices=PRECISIONS, default=['fp32'])
    parser.add_argument('--out')
    args = parser.parse_args(argv)
    names = dict(
        ours='ours: weak 1 labeled + 1 pseudo, strong 2 pseudo; DSBN, SCL',
        mmseg='MMSeg supervised: 4 labeled',
        unimatch='UniMatch: 2 labeled + 2 unlabeled x (weak, 2 strong), '
        'feature stream, OHEM')
    lines = [
        f'DeepLabV3+ R{args.depth}, {args.crop}x{args.crop} crops, batch 4, '
        f'{args.device}',
        '| precision | iteration | ms (median) | peak memory MB | '
        'loss (1st step) |', '| --- | --- | --- | --- | --- |'
    ]
    ratios = []
    for precision in args.precision:
        if not runs_on(precision, args.device):
            lines.append('| fp16 | (all) | skipped: autocast to fp16 '
                         'needs a GPU | | |')
            continue
        res = measure(args, precision)
        for v in VARIANTS:
            row = res[v] if isinstance(res[v], str) else \
                '{:.1f} | {:.0f} | {:.4f}'.format(*res[v])
            lines.append(f'| {precision} | {names[v]} | {row} |')
        if all(not isinstance(r, str) for r in res.values()):
            ours, mmseg, uni = res['ours'], res['mmseg'], res['unimatch']
            ratios.append(
                f'{precision}: time ratio ours / MMSeg '
                f'{ours[0] / mmseg[0]:.3f}, peak memory ratio ours / MMSeg '
                f'{ours[1] / mmseg[1]:.3f} (targets <= 1.10); UniMatch / '
                f'ours: time {uni[0] / ours[0]:.3f}, peak memory '
                f'{uni[1] / ours[1]:.3f}')
    report(lines + ratios, args.out)


if __name__ == '__main__':
    main()
