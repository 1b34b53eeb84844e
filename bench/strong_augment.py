# Copyright (c) mmseg_sb contributors. All rights reserved.
"""ms per image of StrongAugment (3 ops, M=20) vs MMSeg's
PhotoMetricDistortion, on the same images, measured side by side (calls
interleaved), at 769x769 (the crop: strong augmentation after the crop) and
1024x2048 (a full Cityscapes image: before the crop, as the release); then
the mean cost of each op alone. The release's imgaug pool cannot run beside
it here (imgaug does not import with numpy 2), so its means are quoted from
the measurement in issue 20 (same 3 ops at M=20), not timed in this run.

Usage: python bench/strong_augment.py [--repeats 100] [--out FILE]
"""
import argparse
import time

import cv2
import numpy as np

from mmseg.datasets.transforms import PhotoMetricDistortion
from mmseg_sb.datasets import STRONG_OPS, StrongAugment
from mmseg_sb.testing.synthetic_cityscapes import draw_scene

from _common import report  # isort: skip

SIZES = ((769, 769), (1024, 2048))
#: ms per image of the release's imgaug pool (3 ops, M=20), issue 20.
RELEASE_IMGAUG_MS = {(769, 769): 27.7, (1024, 2048): 62.6}


def street_image(size, seed=0):
    """A generated street-like scene (textured, noisy), upscaled."""
    img, _ = draw_scene(np.random.default_rng(seed), (256, 512))
    return cv2.resize(img, size[::-1], interpolation=cv2.INTER_LINEAR)


def interleaved_ms(transforms, images, repeats):
    """ms of every call of each transform, called in turn on the same images
    (so that both share the machine's noise); seeded draws."""
    np.random.seed(0)
    times = [[] for _ in transforms]
    for i in range(repeats):
        for transform, spent in zip(transforms, times):
            results = dict(img=images[i % len(images)].copy())
            start = time.perf_counter()
            transform(results)
            spent.append(1000 * (time.perf_counter() - start))
    return [np.array(t) for t in times]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--repeats', type=int, default=100)
    parser.add_argument('--out', help='also write the table to this file')
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)  # as in a data worker (MMEngine sets 0/1)
    strong = StrongAugment(num_ops=3, magnitude=20)
    photo = PhotoMetricDistortion()
    lines = [
        '| image | StrongAugment ms, mean / median | '
        'PhotoMetricDistortion ms, mean / median | ratio of means | '
        'speed-up over the release (imgaug, quoted) |',
        '| --- | --- | --- | --- | --- |'
    ]
    ratios, per_op = [], {}
    for size in SIZES:
        images = [street_image(size, seed) for seed in range(4)]
        interleaved_ms([strong, photo], images, 5)  # warm up the tables
        ours, ref = interleaved_ms([strong, photo], images, args.repeats)
        ratios.append(ours.mean() / ref.mean())
        lines.append(f'| {size[0]}x{size[1]} | {ours.mean():.2f} / '
                     f'{np.median(ours):.2f} | {ref.mean():.2f} / '
                     f'{np.median(ref):.2f} | {ratios[-1]:.2f} | '
                     f'{RELEASE_IMGAUG_MS[size] / ours.mean():.1f}x |')
        for name in STRONG_OPS:
            op = StrongAugment(num_ops=1, magnitude=20, ops=[name])
            per_op.setdefault(name, []).append(
                interleaved_ms([op], images, 8)[0].mean())
    lines.append(f'ratio of mean ms StrongAugment / PhotoMetricDistortion '
                 f'(max over sizes): {max(ratios):.2f} (target <= 1.0)')
    lines += [
        '', '| op | ' + ' | '.join(f'{h}x{w} ms' for h, w in SIZES) + ' |',
        '| --- |' + ' --- |' * len(SIZES)
    ] + [
        f'| {name} | ' + ' | '.join(f'{ms:.2f}' for ms in costs) + ' |'
        for name, costs in per_op.items()
    ]
    report(lines, args.out)


if __name__ == '__main__':
    main()
