# Copyright (c) mmseg_sb contributors. All rights reserved.
"""The built-in demo: the paper's protocol on generated data, on a CPU.

1. Writes a small dataset in Cityscapes' layout
   (``data/synthetic_cityscapes``): a few labeled images taken in clear
   conditions (one city), an unlabeled pool and a validation set taken in
   any condition (illumination, colour cast, contrast, haze, noise, object
   size and clutter vary).
2. Trains the supervised baseline on the labeled images
   (``configs/demo/sup_deeplabv3plus_r18_synthetic.py``) for 800 iterations,
   by which its validation mIoU has levelled off. It is the teacher.
3. Self-training (``configs/demo/sb_deeplabv3plus_r18_synthetic.py``, the real
   Cityscapes self-training config with its sizes shrunk) starts from that
   teacher (``teacher_checkpoint``): labeling, student rounds, relabeling.
4. The control: the supervised baseline trained on for as many iterations as
   the students (``configs/demo/sup_deeplabv3plus_r18_synthetic_continued.py``)
   so that "more iterations" cannot explain a gain.
5. Prints the table, and writes ``summary.png`` (validation and unlabeled
   images: image | ground truth | supervised | student | pseudo label) and
   ``curves.png`` (validation mIoU against iteration) to the work dir.

``--seeds N`` repeats steps 1-4 with N seeds (data and training) and prints
the mean and spread of every row. ``--compare`` also trains UniMatch and
FixMatch (``configs/demo/{unimatch,fixmatch}_deeplabv3plus_r18_synthetic.py``:
the same labeled split, model and total iterations as self-training) and
prints ``tools/compare.py``'s table of all five runs, with its bar chart in
``compare.png``. The terminal shows one progress bar per
stage; MMEngine's full logs go to each stage's work dir.

Usage: python tools/demo.py [--seeds N] [--compare] [--work-dir DIR]
    [--data-root DIR]
"""
import argparse
import contextlib
import os
import os.path as osp
import shutil
import sys
import time
import warnings

import numpy as np
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

from mmseg_sb.datasets.splits import draw_split, write_ann_file
from mmseg_sb.engine import PseudoLabelHook
from mmseg_sb.testing import (CLEAR_CITY, make_synthetic_cityscapes,
                              set_data_root, val_mious)

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
#: The demo data: images per split, labeled train images, image size.
NUM_IMAGES = dict(train=320, val=40)
NUM_LABELED = 20
IMG_SIZE = (64, 128)
#: The terminal of the user, kept while MMEngine's console goes to a file.
TERMINAL = sys.stdout


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--seeds', type=int, default=1)
    parser.add_argument(
        '--compare',
        action='store_true',
        help='also train UniMatch and FixMatch and compare all runs')
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--data-root', default='data/synthetic_cityscapes')
    return parser.parse_args()


def say(text: str = '', end: str = '\n') -> None:
    TERMINAL.write(text + end)
    TERMINAL.flush()


class ProgressBarHook(Hook):
    """One progress bar per stage on the terminal; a line for labeling."""

    priority = 'VERY_LOW'

    def __init__(self, stage: str, width: int = 30) -> None:
        self.stage = stage
        self.width = width

    def before_train(self, runner) -> None:
        self.start = time.time()
        self.label_start = time.time()
        hook = next(
            (h for h in runner.hooks if isinstance(h, PseudoLabelHook)), None)
        self.pseudo_hook = hook
        self.round = None

    def _bar(self, runner, done: int, begin: int, end: int, name: str):
        step = max((end - begin) // 100, 1)  # redraw at most 100 times
        if (done - begin) % step and done != end:
            return
        frac = (done - begin) / max(end - begin, 1)
        fill = int(self.width * frac)
        say(
            f'\r  {name:<28} [{"#" * fill}{"." * (self.width - fill)}] '
            f'{done - begin:>5}/{end - begin} it, '
            f'{time.time() - self.start:4.0f} s',
            end='')

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        if self.pseudo_hook is None or self.round == self.pseudo_hook.round:
            return
        # A new round: its labels were just made.
        if self.round is not None:
            say()
        self.round = self.pseudo_hook.round
        stats = self.pseudo_hook.labeler.read_stats(self.round)
        say(f'  labeling round {self.round}: {stats["num_images"]} images, '
            f'{time.time() - self.label_start:.0f} s, pseudo-label mIoU '
            f'{100 * stats["mIoU"]:.2f}')
        self.start = time.time()

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None) -> None:
        if self.pseudo_hook is None:
            self._bar(runner, runner.iter + 1, 0, runner.max_iters, self.stage)
            return
        r = self.round
        begin = sum(self.pseudo_hook.round_iters[:r])
        self._bar(runner, runner.iter + 1, begin,
                  begin + self.pseudo_hook.round_iters[r],
                  f'student round {r}')
        if runner.iter + 1 == begin + self.pseudo_hook.round_iters[r]:
            self.label_start = time.time()

    def after_train(self, runner) -> None:
        say()


def prepare_data(data_root: str, split: str, seed: int) -> None:
    """Write the dataset and the split: the labeled images are drawn from
    the clear city's, the rest of the train images are unlabeled."""
    shutil.rmtree(data_root, ignore_errors=True)
    names = make_synthetic_cityscapes(data_root, NUM_IMAGES, IMG_SIZE, seed)
    clear = [n for n in names['train'] if n.startswith(CLEAR_CITY + '/')]
    labeled, _ = draw_split(clear, NUM_LABELED, seed)
    unlabeled = [n for n in names['train'] if n not in set(labeled)]
    split_dir = osp.join(data_root, 'splits', split)
    write_ann_file(labeled, osp.join(split_dir, 'labeled.txt'))
    write_ann_file(unlabeled, osp.join(split_dir, 'unlabeled.txt'))


def run_stage(stage: str, config: str, work_dir: str, data_root: str,
              seed: int, **options) -> Runner:
    """Train one config quietly: MMEngine's console output goes to
    ``work_dir/console.log``, a progress bar to the terminal."""
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(options)
    cfg.work_dir = work_dir
    cfg.randomness = dict(seed=seed)
    # Several runners in one process: keep their visualizers apart.
    cfg.visualizer.name = f'visualizer_{osp.basename(work_dir)}_{seed}'
    set_data_root(cfg, data_root)
    shutil.rmtree(work_dir, ignore_errors=True)
    os.makedirs(work_dir)
    with open(osp.join(work_dir, 'console.log'), 'w') as console, \
            contextlib.redirect_stdout(console):
        runner = Runner.from_cfg(cfg)
        runner.register_hook(ProgressBarHook(stage))
        runner.train()
    return runner


def run_seed(args, seed: int) -> dict:
    """Steps 1-4 for one seed; returns the runners and the table rows."""
    data_root = osp.join(args.data_root.rstrip('/'),
                         f'seed_{seed}') + '/' if args.seeds > 1 else \
        args.data_root.rstrip('/') + '/'
    work_dir = osp.join(args.work_dir, f'seed_{seed}') \
        if args.seeds > 1 else args.work_dir
    sb_cfg = Config.fromfile(SB_CONFIG)
    split = sb_cfg.split
    prepare_data(data_root, split, seed)
    say(f'Seed {seed}: {NUM_LABELED} labeled images (clear conditions), '
        f'{NUM_IMAGES["train"] - NUM_LABELED} unlabeled and '
        f'{NUM_IMAGES["val"]} val images (any condition) in {data_root}')
    sup = run_stage('supervised (teacher)', SUP_CONFIG,
                    osp.join(work_dir, 'sup'), data_root, seed)
    teacher = osp.join(sup.work_dir, f'iter_{sup.max_iters}.pth')
    students = sb_cfg.round_iters[1:]
    rounds = [0] + list(students)
    sb = run_stage(
        'self-training', SB_CONFIG, osp.join(work_dir, 'sb'), data_root, seed,
        **{
            'custom_hooks.0.round_iters': rounds,
            'custom_hooks.0.teacher_checkpoint': teacher,
            'param_scheduler.0.round_iters': rounds,
            'param_scheduler.1.round_iters': rounds,
            'train_cfg.max_iters': sum(rounds),
        })
    control = run_stage(
        'supervised, trained on',
        CONTROL_CONFIG,
        osp.join(work_dir, 'control'),
        data_root,
        seed,
        load_from=teacher)
    peers = {
        name: run_stage(name, config, osp.join(work_dir, name), data_root,
                        seed)
        for name, config in PEER_CONFIGS.items()
    } if args.compare else {}
    return dict(
        sup=sup,
        sb=sb,
        control=control,
        peers=peers,
        rows=result_rows(sup, sb, control),
        data_root=data_root,
        work_dir=work_dir)


def result_rows(sup: Runner, sb: Runner, control: Runner) -> list:
    """(stage, iterations, pseudo-label mIoU or None, val mIoU) per row."""
    teacher_iters = sup.max_iters
    sup_miou = val_mious(sup.work_dir)[teacher_iters]
    control_miou = val_mious(control.work_dir)[control.max_iters]
    rows = [('supervised (the teacher)', teacher_iters, None, sup_miou),
            ('supervised, trained on (control)',
             teacher_iters + control.max_iters, None, control_miou)]
    hook = next(h for h in sb.hooks if isinstance(h, PseudoLabelHook))
    mious = val_mious(sb.work_dir)
    end = 0
    for r, iters in enumerate(hook.round_iters):
        end += iters
        if r == 0:
            continue
        pseudo = 100 * hook.labeler.read_stats(r)['mIoU']
        rows.append((f'self-training, student round {r}', teacher_iters + end,
                     pseudo, mious[end]))
    return rows


def print_table(header: tuple, rows: list) -> None:
    widths = [
        max(len(str(r[i])) for r in rows + [header])
        for i in range(len(header))
    ]
    line = '+' + '+'.join('-' * (w + 2) for w in widths) + '+'
    say(line)
    for row in [header] + rows:
        say('| ' + ' | '.join(str(c).ljust(w)
                              for c, w in zip(row, widths)) + ' |')
        if row is header:
            say(line)
    say(line)


def fmt(value) -> str:
    return '-' if value is None else f'{value:.2f}'


def print_single(rows: list) -> None:
    last = rows[-1][3]
    say(f'\nSelf-training vs supervised on generated Cityscapes-layout data '
        f'(mIoU on {NUM_IMAGES["val"]} val images)')
    print_table(('run', 'iterations', 'pseudo-label mIoU', 'val mIoU',
                 'last student gain'),
                [(name, iters, fmt(pseudo), fmt(miou),
                  f'{last - miou:+.2f}' if i < 2 else '-')
                 for i, (name, iters, pseudo, miou) in enumerate(rows)])


def print_seeds(results: list) -> None:
    say(f'\nOver {len(results)} seeds (mean +- std; gain of the last student '
        'per seed)')
    table = []
    for i, row in enumerate(results[0]['rows']):
        mious = np.array([res['rows'][i][3] for res in results])
        pseudo = [res['rows'][i][2] for res in results]
        gains = [res['rows'][-1][3] - res['rows'][i][3] for res in results]
        table.append((row[0], row[1], '-' if pseudo[0] is None else
                      f'{np.mean(pseudo):.2f} +- {np.std(pseudo):.2f}',
                      f'{mious.mean():.2f} +- {mious.std():.2f}',
                      ' '.join(f'{g:+.2f}' for g in gains) if i < 2 else '-'))
    print_table(('run', 'iterations', 'pseudo-label mIoU', 'val mIoU',
                 'last student gain per seed'), table)


def compare_runs(result: dict) -> str:
    """``tools/compare.py``'s table of one seed's runs; its bar chart goes
    to ``compare.png`` in the seed's work dir."""
    import compare
    runners = [result['sup'], result['control'], result['sb']] + list(
        result['peers'].values())
    runs = [compare.collect(r.work_dir) for r in runners]
    out = osp.join(result['work_dir'], 'compare.png')
    compare.bar_chart(
        runs, out, 'Demo: same labeled split, model and '
        'total iterations')
    return compare.markdown(runs) + f'\nbar chart: {out}'


def colorize(label: np.ndarray) -> np.ndarray:
    from mmseg.datasets import CityscapesDataset
    palette = np.zeros((256, 3), np.uint8)
    palette[:19] = CityscapesDataset.METAINFO['palette']
    return palette[label]


def write_summary(result: dict, num_val: int = 3, num_unlabeled: int = 2):
    """``summary.png``: image | ground truth | supervised | student |
    pseudo label, for a few val images and unlabeled train images."""
    import cv2
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    from mmseg.apis import inference_model, init_model

    data_root, work_dir = result['data_root'], result['work_dir']
    models = {}
    for key, config in (('sup', SUP_CONFIG), ('sb', SB_CONFIG)):
        runner = result[key]
        ckpt = osp.join(runner.work_dir, f'iter_{runner.max_iters}.pth')
        with contextlib.redirect_stdout(open(os.devnull, 'w')):
            models[key] = init_model(config, ckpt, device='cpu')
    hook = next(h for h in result['sb'].hooks
                if isinstance(h, PseudoLabelHook))
    split = osp.join(data_root, 'splits', Config.fromfile(SB_CONFIG).split)
    with open(osp.join(split, 'unlabeled.txt')) as f:
        unlabeled = [line.strip() for line in f][-num_unlabeled:]
    val = sorted(os.listdir(osp.join(data_root, 'leftImg8bit', 'val')))[0]
    val_names = sorted(
        os.listdir(osp.join(data_root, 'leftImg8bit', 'val', val)))[:num_val]
    items = [('val', osp.join(val, n[:-len('_leftImg8bit.png')]), None)
             for n in val_names]
    items += [('train', name, osp.join(hook.labeler.round_dir(1), name))
              for name in unlabeled]
    columns = ('image', 'ground truth', 'supervised', 'student',
               'pseudo label')
    fig, axes = plt.subplots(
        len(items), 5, figsize=(12, 1.5 * len(items)), squeeze=False)
    for row, (split_name, name, pseudo) in enumerate(items):
        img_path = osp.join(data_root, 'leftImg8bit', split_name,
                            name + '_leftImg8bit.png')
        gt = cv2.imread(
            osp.join(data_root, 'gtFine', split_name,
                     name + '_gtFine_labelTrainIds.png'), cv2.IMREAD_UNCHANGED)
        panels = [cv2.imread(img_path)[..., ::-1], colorize(gt)]
        for key in ('sup', 'sb'):
            pred = inference_model(models[key], img_path)
            panels.append(
                colorize(pred.pred_sem_seg.data[0].numpy().astype(np.uint8)))
        if pseudo is not None:
            panels.append(
                colorize(
                    cv2.imread(pseudo + '_gtFine_labelTrainIds.png',
                               cv2.IMREAD_UNCHANGED)))
        for col, ax in enumerate(axes[row]):
            ax.axis('off')
            if col < len(panels):
                ax.imshow(panels[col], interpolation='nearest')
            if row == 0:
                ax.set_title(columns[col], fontsize=9)
        axes[row][0].text(
            -4,
            32,
            'val' if pseudo is None else 'unlabeled',
            rotation=90,
            va='center',
            ha='right',
            fontsize=8)
    fig.tight_layout()
    out = osp.join(work_dir, 'summary.png')
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def write_curves(result: dict) -> str:
    """``curves.png``: validation mIoU against iteration."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    sup, sb, control = result['sup'], result['sb'], result['control']
    offset = sup.max_iters
    fig, ax = plt.subplots(figsize=(7, 3.5))
    for runner, shift, name in ((sup, 0, 'supervised (teacher)'),
                                (control, offset, 'supervised, trained on'),
                                (sb, offset, 'self-training')):
        mious = val_mious(runner.work_dir)
        steps = sorted(mious)
        ax.plot([s + shift for s in steps], [mious[s] for s in steps],
                marker='.',
                label=name)
    hook = next(h for h in sb.hooks if isinstance(h, PseudoLabelHook))
    start = offset
    for r, iters in enumerate(hook.round_iters):
        if iters:
            ax.axvline(start, color='grey', linestyle=':', linewidth=1)
            ax.text(start, ax.get_ylim()[0], f' round {r}', fontsize=8)
        start += iters
    ax.set_xlabel('iteration')
    ax.set_ylabel('val mIoU')
    ax.legend(fontsize=8)
    fig.tight_layout()
    out = osp.join(result['work_dir'], 'curves.png')
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def main():
    args = parse_args()
    # MMSeg's resize warns about align_corners on every call; only here.
    warnings.filterwarnings('ignore', message='When align_corners')
    warnings.filterwarnings('ignore', category=UserWarning)
    start = time.time()
    results = []
    for seed in range(args.seeds):
        results.append(run_seed(args, seed))
        if args.seeds == 1:
            print_single(results[0]['rows'])
    if args.seeds > 1:
        for seed, res in enumerate(results):
            say(f'\nSeed {seed}')
            print_single(res['rows'])
        print_seeds(results)
    first = results[0]
    if args.compare:
        for seed, res in enumerate(results):
            say(f'\nSeed {seed}: tools/compare.py over its runs')
            say(compare_runs(res))
    say(f'\nWrote {write_summary(first)} and {write_curves(first)}')
    say(f'Total time: {time.time() - start:.0f} s; MMEngine logs, '
        f'checkpoints and pseudo labels in {args.work_dir} '
        '(console.log and <timestamp>/<timestamp>.log per stage)')


if __name__ == '__main__':
    main()
