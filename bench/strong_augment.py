# Copyright (c) mmseg_sb contributors. All rights reserved.
"""ms per image of StrongAugment (3 ops, M=20) vs MMSeg's
PhotoMetricDistortion, on the same images, measured side by side.

Usage: python bench/strong_augment.py [--repeats 60] [--out FILE]
"""
import argparse
import time

import cv2
import numpy as np

from mmseg.datasets.transforms import PhotoMetricDistortion
from mmseg_sb.datasets import StrongAugment
from mmseg_sb.datasets.synthetic_cityscapes import draw_scene

from _common import report  # isort: skip

SIZES = ((769, 769), (1024, 2048))


def street_image(size, seed=0):
    """A generated street-like scene (textured, noisy), upscaled."""
    img, _ = draw_scene(np.random.default_rng(seed), (256, 512))
    return cv2.resize(img, size[::-1], interpolation=cv2.INTER_LINEAR)


def time_per_image(transform, images, repeats):
    """Median ms per call, cycling over ``images``; seeded draws."""
    np.random.seed(0)
    times = []
    for i in range(repeats):
        results = dict(img=images[i % len(images)].copy())
        start = time.perf_counter()
        transform(results)
        times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--repeats', type=int, default=60)
    parser.add_argument('--out', help='also write the table to this file')
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)  # as in a data worker (MMEngine sets 0/1)
    strong = StrongAugment(num_ops=3, magnitude=20)
    photo = PhotoMetricDistortion()
    lines = [
        '| image | StrongAugment ms | PhotoMetricDistortion ms | ratio |',
        '| --- | --- | --- | --- |'
    ]
    ratios = []
    for size in SIZES:
        images = [street_image(size, seed) for seed in range(4)]
        # Interleave to share machine noise; warm up the lookup tables.
        time_per_image(strong, images, 5)
        ours = time_per_image(strong, images, args.repeats)
        ref = time_per_image(photo, images, args.repeats)
        ratios.append(ours / ref)
        lines.append(f'| {size[0]}x{size[1]} | {ours:.2f} | {ref:.2f} | '
                     f'{ours / ref:.2f} |')
    lines.append(f'ratio StrongAugment / PhotoMetricDistortion (max over '
                 f'sizes): {max(ratios):.2f} (target <= 1.5)')
    report(lines, args.out)


if __name__ == '__main__':
    main()
