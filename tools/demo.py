# Copyright (c) mmseg_sb contributors. All rights reserved.
"""The built-in demo: the paper's protocol on generated data, on a CPU.

1. Writes a small dataset in Cityscapes' layout (``--data-root``): a few
   labeled images taken in clear conditions (one city), an unlabeled pool and
   a validation set taken in any condition.
2. Trains the supervised baseline (``configs/demo/sup_*``) on the labeled
   images for the self-training config's round 0 (600 iterations): the
   teacher.
3. Self-training (``configs/demo/sb_*``, the Cityscapes config shrunk) starts
   from that teacher: labeling, student rounds, relabeling.
4. The control: the supervised baseline trained on for as many iterations as
   the students (``configs/demo/sup_*_continued``).
5. Prints the table; writes ``summary.png`` (image | ground truth |
   supervised | student | pseudo label) and ``curves.png`` (validation mIoU
   against iteration) to the work dir.

``--seeds N`` repeats steps 1-4 with N seeds (from ``--first-seed S``) and
prints the mean and spread of every row, then per seed the teacher, control,
student and student - control, and the paired test of student against
control (mean, spread, wins, sign test, paired t-test). ``--compare`` also
trains UniMatch and FixMatch (the same labeled split, model and total
iterations) and prints ``tools/compare.py``'s table of all five runs, its
bar chart in ``compare.png``, and over several seeds every method's gain
over the control per seed with its paired test. The terminal shows
a progress bar per stage; MMEngine's logs go to each stage's work dir.

``--variants NAME ...`` also trains, per seed and from the same teacher,
the self-training stage with one change to the release's recipe each
(``VARIANTS``: a second round, TTA labels, re-initialised students, strong
augmentation without the two ops that erase the demo's cues) and prints each
beside the release's student, with its paired tests against the control and
against the release's student: findings on the development seeds, not new
defaults.

``--round-iters T S ...`` sets the schedule: the teacher's iterations, then
each student round's (the config's ``round_iters``, 600 1200, by default);
the control trains on for all the student rounds, the peers of ``--compare``
for all the iterations.

``--accumulate N`` trains the students at 1/N of their batch per iteration
with N micro-batches accumulated per optimizer step (MMEngine's
``accumulative_counts``) for N times the iterations, as the recipes for
fewer GPUs do (the Simple Baseline's students only; the peers of ``--compare``
keep their batch).

Usage: python tools/demo.py [--seeds N] [--first-seed S] [--compare]
    [--variants NAME ...] [--round-iters T S ...] [--accumulate N]
    [--work-dir DIR] [--data-root DIR]
"""
import argparse
import contextlib
import os
import os.path as osp
import shutil
import sys
import time
import warnings
from functools import partial
from typing import Optional

import numpy as np
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.runner import Runner

from mmseg.registry import MODELS
from mmseg_sb.apis import (collect_run, markdown_table, runs_bar_chart,
                           runs_table)
from mmseg_sb.datasets.splits import draw_split, write_ann_file
from mmseg_sb.datasets.transforms.strong_ops import STRONG_OPS
from mmseg_sb.engine import ProgressBarHook
from mmseg_sb.testing import (CLEAR_CITY, evaluate_subset,
                              make_synthetic_cityscapes, paired_test,
                              set_data_root, write_curves, write_summary)
from mmseg_sb.utils import read_round_stats, round_dir, val_mious

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
SB_CONFIG = osp.join(REPO, 'configs/demo/sb_deeplabv3plus_r18_synthetic.py')
SUP_CONFIG = osp.join(REPO, 'configs/demo/sup_deeplabv3plus_r18_synthetic.py')
CONTROL_CONFIG = osp.join(
    REPO, 'configs/demo/sup_deeplabv3plus_r18_synthetic_continued.py')
#: The online peers of --compare, by work-dir name.
PEER_CONFIGS = {
    name: osp.join(REPO, f'configs/demo/{name}_deeplabv3plus_r18_synthetic.py')
    for name in ('unimatch', 'fixmatch')
}
#: The self-training run's rounds and teacher, in its config.
HOOK = 'default_hooks.pseudo_label'
#: The demo data: images per split, labeled train images, image size.
NUM_IMAGES = dict(train=320, val=200)
NUM_LABELED = 20
IMG_SIZE = (64, 128)
#: Seeds the demo's data, sizes and schedule were tuned on, and the held-out
#: ones its reported results come from (the README's table: --seeds 8).
DEV = range(0, 3)
HELD_OUT = range(100, 108)
#: Recipe variants (--variants): options of the self-training stage, each one
#: change to the release's recipe, for as many student iterations in all (the
#: control's). Run beside the release's recipe, reported beside it.
#: ``student_rounds`` is not a config option: the student iterations split
#: into that many equal rounds.
VARIANTS = {
    # A second round: the first student relabels halfway.
    'two-rounds': {
        'student_rounds': 2
    },
    # Labels by the config's flip x multi-scale TTA.
    'tta': {
        f'{HOOK}.tta': True
    },
    # Each student restarts from the run's initial weights (random: the demo
    # has no ImageNet weights), not from its teacher.
    'reinit': {
        f'{HOOK}.student_init': 'initial'
    },
    # The strong view's StrongAugment without element dropout and per-channel
    # multiply: alone, they cut the teacher's pixel accuracy to 19.0 and 43.3
    # (88.9 without an op; the other 15 ops keep it at 55.8 or more), the
    # fall after the switch (see README).
    'gentle-strong': {
        'train_cfg.student_dataloader.dataset.views.1.2.ops':
        [op for op in STRONG_OPS if op not in ('dropout', 'multiply')]
    },
}
#: The terminal of the user, kept while MMEngine's console goes to a file.
TERMINAL = sys.stdout
say = partial(print, file=TERMINAL, flush=True)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--seeds', type=int, default=1, help='number of seeds to run')
    parser.add_argument(
        '--first-seed',
        type=int,
        default=HELD_OUT[0],
        help='the first seed: seeds S to S+N-1 (default: the first held-out '
        f'seed; seeds {DEV[0]}-{DEV[-1]} were used for tuning)')
    parser.add_argument(
        '--compare',
        action='store_true',
        help='also train UniMatch and FixMatch and compare all runs')
    parser.add_argument(
        '--variants',
        nargs='+',
        default=[],
        choices=list(VARIANTS),
        help='also train the self-training stage with each of these changes '
        'to the release\'s recipe, from the same teacher, and compare')
    parser.add_argument(
        '--round-iters',
        type=int,
        nargs='+',
        metavar='N',
        help='the teacher\'s iterations, then each student round\'s '
        '(default: the self-training demo config\'s round_iters); the '
        'control trains on for all the student rounds, the peers of '
        '--compare for all')
    parser.add_argument(
        '--accumulate',
        type=int,
        default=1,
        help='students at 1/N of the batch per iteration, N micro-batches '
        'accumulated per optimizer step, N times the iterations: the same '
        'samples and steps, BN statistics over 1/N of the batch (the '
        'recipes for fewer GPUs do the same). Only the Simple Baseline\'s '
        'students: the peers of --compare keep their batch')
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--data-root', default='data/synthetic_cityscapes')
    return parser.parse_args()


def prepare_data(data_root: str, split: str, seed: int) -> list:
    """Write the dataset and the split: the labeled images are drawn from
    the clear city's, the rest of the train images are unlabeled. Returns
    the val images' names."""
    shutil.rmtree(data_root, ignore_errors=True)
    names = make_synthetic_cityscapes(data_root, NUM_IMAGES, IMG_SIZE, seed)
    clear = [n for n in names['train'] if n.startswith(CLEAR_CITY + '/')]
    labeled, _ = draw_split(clear, NUM_LABELED, seed)
    unlabeled = [n for n in names['train'] if n not in set(labeled)]
    split_dir = osp.join(data_root, 'splits', split)
    write_ann_file(labeled, osp.join(split_dir, 'labeled.txt'))
    write_ann_file(unlabeled, osp.join(split_dir, 'unlabeled.txt'))
    return names['val']


def run_stage(data_root: str, seed: int, seed_dir: str, folder: str,
              stage: str, config: str, options: dict) -> Runner:
    """Train one config quietly in ``seed_dir/folder``: MMEngine's console
    output goes to ``console.log`` there, a progress bar to the terminal."""
    cfg = Config.fromfile(config)
    # The demo never resumes: it reads each stage's last checkpoint only (a
    # self-training run still saves one at every round end). Each save costs
    # about 1 s, mostly MMEngine formatting the config into it.
    cfg.merge_from_dict({'default_hooks.checkpoint.interval': -1, **options})
    cfg.work_dir = work_dir = osp.join(seed_dir, folder)
    cfg.randomness = dict(seed=seed)
    # Several runners in one process: keep their visualizers apart.
    cfg.visualizer.name = f'visualizer_{osp.basename(work_dir)}_{seed}'
    set_data_root(cfg, data_root)
    shutil.rmtree(work_dir, ignore_errors=True)
    os.makedirs(work_dir)
    with open(osp.join(work_dir, 'console.log'), 'w') as console, \
            contextlib.redirect_stdout(console):
        runner = Runner.from_cfg(cfg)
        runner.register_hook(ProgressBarHook(stage, stream=TERMINAL))
        runner.train()
    return runner


def accumulate_options(cfg: Config, rounds: list, n: int) -> dict:
    """Options of the self-training stage with ``rounds`` whose students
    accumulate ``n`` micro-batches of 1/n of their batch (each still half
    weak, half strong) per optimizer step: n times the iterations, so the
    same samples per step and the same number of steps."""
    loader = cfg.train_cfg.student_dataloader
    if n < 1 or loader.batch_size % (2 * n):
        raise SystemExit(
            f'--accumulate {n}: the student batch of {loader.batch_size} '
            f'images does not split into {n} micro-batches of equal weak and '
            f'strong halves; N must divide {loader.batch_size // 2}.')
    if n == 1:
        return {f'{HOOK}.round_iters': rounds}
    student = 'train_cfg.student_dataloader'
    return {
        f'{HOOK}.round_iters': [r * n for r in rounds],
        f'{student}.batch_size': loader.batch_size // n,
        f'{student}.sampler.batch_size': loader.batch_size // n,
        'optim_wrapper.accumulative_counts': n,
        'train_cfg.val_interval': cfg.train_cfg.val_interval * n,
    }


def seed_range(args) -> range:
    """Seeds ``--first-seed`` to ``--first-seed`` + ``--seeds`` - 1."""
    if args.seeds < 1:
        raise SystemExit(
            f'--seeds {args.seeds}: give at least 1 seed (for example '
            f'--seeds {len(HELD_OUT)} for the held-out result).')
    return range(args.first_seed, args.first_seed + args.seeds)


def schedule(cfg: Config, round_iters: Optional[list]) -> list:
    """The teacher's iterations, then each student round's: ``round_iters``
    (``--round-iters``) or the self-training config's."""
    rounds = round_iters or list(cfg.default_hooks.pseudo_label.round_iters)
    if len(rounds) < 2 or min(rounds) < 1:
        raise SystemExit(
            f'--round-iters {" ".join(map(str, rounds))}: give the teacher\'s '
            'iterations, then at least one student round\'s, each at least '
            '1 (for example --round-iters 600 1200).')
    return rounds


def schedule_options(rounds: list) -> dict:
    """The iterations of the teacher, the control and the peers of
    ``--compare`` from ``rounds``: round 0, all the student rounds, all."""
    return dict(
        sup={'train_cfg.max_iters': rounds[0]},
        control={'train_cfg.max_iters': sum(rounds[1:])},
        peers={'train_cfg.max_iters': sum(rounds)})


def stage_options(cfg: Config, variant: Optional[str], accumulate: int,
                  rounds: list) -> dict:
    """Options of the self-training stage for ``rounds`` (see
    ``schedule``): the release's recipe (``variant`` None) or one of
    ``VARIANTS``, its students accumulating ``accumulate`` micro-batches per
    step. Round 0 has 0 iterations: the demo's teacher is the supervised
    baseline."""
    options = dict(VARIANTS[variant]) if variant else {}
    students = list(rounds[1:])
    if 'student_rounds' in options:
        n, total = options.pop('student_rounds'), sum(students)
        students = [total // n + (i < total % n) for i in range(n)]
    return {**accumulate_options(cfg, [0, *students], accumulate), **options}


def last_miou(runner: Runner) -> float:
    """A stage's val mIoU at its last iteration."""
    return val_mious(runner.work_dir)[runner.max_iters]


def last_pseudo_miou(runner: Runner) -> float:
    """The mIoU of a self-training stage's last round of pseudo labels."""
    last = len(runner.train_loop.rounds) - 1
    return 100 * read_round_stats(round_dir(runner.work_dir, last))['mIoU']


def run_seed(args, seed: int) -> dict:
    """Steps 1-4 for one seed; returns the runners and the table rows."""
    folder = f'seed_{seed}' if args.seeds > 1 else ''
    data_root = osp.join(args.data_root, folder).rstrip('/') + '/'
    work_dir = osp.join(args.work_dir, folder).rstrip('/')
    sb_cfg = Config.fromfile(SB_CONFIG)
    val_names = prepare_data(data_root, sb_cfg.demo_split, seed)
    say(f'Seed {seed}: {NUM_LABELED} labeled images (clear conditions), '
        f'{NUM_IMAGES["train"] - NUM_LABELED} unlabeled and '
        f'{NUM_IMAGES["val"]} val images (any condition) in {data_root}')
    stage = partial(run_stage, data_root, seed, work_dir)
    result = dict(data_root=data_root, work_dir=work_dir)
    iters = schedule_options(args.round_iters)
    sup = result['sup'] = stage('sup', 'supervised (teacher)', SUP_CONFIG,
                                iters['sup'])
    teacher = osp.join(sup.work_dir, f'iter_{sup.max_iters}.pth')
    options = partial(
        stage_options,
        sb_cfg,
        accumulate=args.accumulate,
        rounds=args.round_iters)
    sb, *variants = (
        stage(f'sb_{variant}' if variant else 'sb',
              f'self-training ({variant})' if variant else 'self-training',
              SB_CONFIG, {
                  f'{HOOK}.teacher_checkpoint': teacher,
                  **options(variant)
              }) for variant in (None, *args.variants))
    result['sb'], result['variants'] = sb, dict(zip(args.variants, variants))
    control = result['control'] = stage('control', 'supervised, trained on',
                                        CONTROL_CONFIG, {
                                            'load_from': teacher,
                                            **iters['control']
                                        })
    result['peers'] = [
        stage(name, name, config, iters['peers'])
        for name, config in PEER_CONFIGS.items()
    ] if args.compare else []
    result['rows'] = result_rows(sup, sb, control)
    result['halves'] = val_halves(data_root, sb_cfg.demo_split, val_names,
                                  control, sb)
    return result


def val_halves(data_root: str, split: str, names: list, control: Runner,
               student: Runner) -> dict:
    """The control's and the last student's mIoU on two disjoint halves of
    the val images (every other image): how much the measurement moves with
    the draw of validation images. ``{'control': (a, b), 'student': (a,
    b)}``."""
    halves = {}
    for key, config, runner in (('control', CONTROL_CONFIG, control),
                                ('student', SB_CONFIG, student)):
        checkpoint = osp.join(runner.work_dir, f'iter_{runner.max_iters}.pth')
        halves[key] = tuple(
            evaluate_subset(
                config, checkpoint,
                osp.join(data_root, 'splits', split, f'val_{half}.txt'),
                names[i::2], data_root) for i, half in enumerate('ab'))
    return halves


def result_rows(sup: Runner, sb: Runner, control: Runner) -> list:
    """(stage, iterations, pseudo-label mIoU or None, val mIoU) per row."""
    teacher_iters = sup.max_iters
    rows = [('supervised (the teacher)', teacher_iters, None, last_miou(sup)),
            ('supervised, trained on (control)',
             teacher_iters + control.max_iters, None, last_miou(control))]
    rounds, mious = sb.train_loop.rounds, val_mious(sb.work_dir)
    for r in range(1, len(rounds)):
        stats = read_round_stats(round_dir(sb.work_dir, r))
        rows.append((f'self-training, student round {r}',
                     teacher_iters + rounds.end(r), 100 * stats['mIoU'],
                     mious[rounds.end(r)]))
    return rows


def spread(values: list) -> str:
    """One value, or the mean +- std of several (one per seed)."""
    mean = f'{np.mean(values):.2f}'
    return mean if len(values) == 1 else f'{mean} +- {np.std(values):.2f}'


def print_rows(results: list, title: str) -> None:
    """The table of one seed's rows, or of several seeds' (mean +- std),
    with the gain of the last student over each supervised run."""
    table = []
    for i, (name, iters, pseudo, _) in enumerate(results[0]['rows']):
        pseudos, mious = ([res['rows'][i][k] for res in results]
                          for k in (2, 3))
        gains = [res['rows'][-1][3] - res['rows'][i][3] for res in results]
        gain = ' '.join(f'{g:+.2f}' for g in gains) if i < 2 else '-'
        table.append((name, iters, '-' if pseudo is None else spread(pseudos),
                      spread(mious), gain))
    header = ('run', 'iterations', 'pseudo-label mIoU', 'val mIoU',
              'last student gain' + (' per seed' if len(results) > 1 else ''))
    say(title + '\n' + markdown_table(header, table))


def print_paired(seeds: range, results: list) -> None:
    """Per seed the teacher, control and last student (val mIoU),
    student - control, and student - control on each half of the val
    images; then the paired test of student against control."""
    rows = [(res['rows'][0][3], res['rows'][1][3], res['rows'][-1][3])
            for res in results]
    table = [(seed, f'{t:.2f}', f'{c:.2f}', f'{s:.2f}', f'{s - c:+.2f}',
              *(f'{g:+.2f}' for g in half_gains(res)))
             for seed, (t, c, s), res in zip(seeds, rows, results)]
    say(f'\nSeeds {seeds[0]} to {seeds[-1]}: the last student against the '
        'control, paired by seed\n' +
        markdown_table(('seed', 'teacher', 'control', 'student',
                        'student - control', 'on val half A',
                        'on val half B'), table))
    say(str(paired_test([s for *_, s in rows], [c for _, c, _ in rows])))


def print_methods_paired(seeds: range, results: list) -> None:
    """With --compare: per seed the control and every method's last val
    mIoU with its gain over the control, then each method's paired test
    against the control."""
    columns = {'Simple Baseline': [res['rows'][-1][3] for res in results]}
    for i, config in enumerate(PEER_CONFIGS.values()):
        name = MODELS.get(Config.fromfile(config).model.type).method_name
        columns[name] = [last_miou(res['peers'][i]) for res in results]
    print_against_control(seeds, results, columns, 'every method')


def print_variants_paired(seeds: range, results: list) -> None:
    """With --variants: per seed the control, the release's student and
    each variant's (val mIoU, gain over the control); over several seeds,
    each variant's paired tests against the control and against the
    release's student, and its last round's pseudo-label mIoU."""
    release = [res['rows'][-1][3] for res in results]
    columns = {'release recipe': release}
    for name in results[0]['variants']:
        columns[name] = [last_miou(res['variants'][name]) for res in results]
    print_against_control(seeds, results, columns,
                          'the recipe variants (self-training)')
    for name in results[0]['variants']:
        pseudo = [last_pseudo_miou(res['variants'][name]) for res in results]
        say(f'{name}: pseudo-label mIoU (last round) {spread(pseudo)}' +
            (f'; - release recipe: {paired_test(columns[name], release)}'
             if len(results) > 1 else ''))


def print_against_control(seeds: range, results: list, columns: dict,
                          what: str) -> None:
    """Per seed the control and each column's val mIoU with its gain over
    the control; over several seeds, each column's paired test against the
    control."""
    controls = [res['rows'][1][3] for res in results]
    table = [(seed, f'{c:.2f}', *(f'{v[k]:.2f} ({v[k] - c:+.2f})'
                                  for v in columns.values()))
             for k, (seed, c) in enumerate(zip(seeds, controls))]
    say(f'\nSeeds {seeds[0]} to {seeds[-1]}: {what} against the '
        'control (val mIoU, gain over the control)\n' +
        markdown_table(('seed', 'control', *columns), table))
    if len(results) > 1:
        for name, values in columns.items():
            say(f'{name} - control: {paired_test(values, controls)}')


def half_gains(result: dict) -> tuple:
    """Student - control on val half A and on val half B."""
    (ca, cb), (sa, sb) = result['halves']['control'], \
        result['halves']['student']
    return sa - ca, sb - cb


def print_noise(results: list) -> None:
    """How much the same checkpoint's mIoU moves between the two halves of
    the val images, and how much the gain over the control moves."""
    moves = {
        key: [abs(a - b) for a, b in (res['halves'][key] for res in results)]
        for key in ('control', 'student')
    }
    moves['student - control'] = [
        abs(a - b) for a, b in map(half_gains, results)
    ]
    say('\nMeasurement noise: the same checkpoint on two disjoint halves of '
        f'the {NUM_IMAGES["val"]} val images (every other image), |A - B| '
        f'(mean, max over {len(results)} seed(s)): ' +
        '; '.join(f'{key} {np.mean(v):.2f}, {max(v):.2f}'
                  for key, v in moves.items()))


def compare_runs(result: dict) -> str:
    """``tools/compare.py``'s table of one seed's runs; its bar chart goes
    to ``compare.png`` in the seed's work dir."""
    runners = [result[k] for k in ('sup', 'control', 'sb')] + result['peers']
    runs = [collect_run(r.work_dir) for r in runners]
    out = osp.join(result['work_dir'], 'compare.png')
    runs_bar_chart(runs, out,
                   'Demo: same labeled split, model and total iterations')
    return runs_table(runs) + f'\nbar chart: {out}'


def write_figures(result: dict) -> tuple:
    """``summary.png`` and ``curves.png`` of one seed's runs."""
    sup, sb, control = result['sup'], result['sb'], result['control']
    work_dir, offset = result['work_dir'], sup.max_iters
    models = {
        title: (config, osp.join(r.work_dir, f'iter_{r.max_iters}.pth'))
        for title, config, r in (('supervised', SUP_CONFIG, sup),
                                 ('student', SB_CONFIG, sb))
    }
    # Building the models logs (e.g. the DSBN conversion) to MMEngine's
    # current logger, whose console was the last stage's, now closed: a
    # logger of its own, made while stdout goes to a file, takes over.
    with open(osp.join(work_dir, 'figures.log'), 'w') as log, \
            contextlib.redirect_stdout(log):
        MMLogger.get_instance(f'demo_figures_{time.time()}')
        summary = write_summary(
            osp.join(work_dir, 'summary.png'), result['data_root'],
            sb.cfg.demo_split, models, round_dir(sb.work_dir, 1))
    curves = write_curves(
        osp.join(work_dir, 'curves.png'),
        [('supervised (teacher)', sup.work_dir, 0),
         ('supervised, trained on', control.work_dir, offset),
         ('self-training', sb.work_dir, offset)], sb.train_loop.rounds, offset)
    return summary, curves


def main():
    args = parse_args()
    seeds = seed_range(args)
    args.round_iters = schedule(Config.fromfile(SB_CONFIG), args.round_iters)
    # MMSeg's resize warns about align_corners on every call; only here.
    warnings.filterwarnings('ignore', message='When align_corners')
    warnings.filterwarnings('ignore', category=UserWarning)
    start = time.time()
    results = [run_seed(args, seed) for seed in seeds]
    for seed, res in zip(seeds, results):
        print_rows([res], (f'\nSeed {seed}\n' if args.seeds > 1 else '') +
                   '\nSelf-training vs supervised on generated Cityscapes-'
                   f'layout data (mIoU on {NUM_IMAGES["val"]} val images)')
    if args.seeds > 1:
        print_rows(
            results, f'\nOver {len(results)} seeds (mean +- std; gain of the '
            'last student per seed)')
        print_paired(seeds, results)
        if args.compare:
            print_methods_paired(seeds, results)
    if args.variants:
        print_variants_paired(seeds, results)
    print_noise(results)
    for seed, res in zip(seeds, results if args.compare else []):
        say(f'\nSeed {seed}: tools/compare.py over its runs')
        say(compare_runs(res))
    say('\nWrote {} and {}'.format(*write_figures(results[0])))
    say(f'Total time: {time.time() - start:.0f} s; MMEngine logs, '
        f'checkpoints and pseudo labels in {args.work_dir} '
        '(console.log and <timestamp>/<timestamp>.log per stage)')


if __name__ == '__main__':
    main()
