# Copyright (c) mmseg_sb contributors. All rights reserved.
import json
import os
import os.path as osp

import cv2
import pytest
from mmengine.hooks import Hook
from mmengine.runner import Runner

from mmseg.registry import HOOKS
from mmseg_sb.engine import PseudoLabelHook
from mmseg_sb.utils import COMPLETE_MARKER

#: Every test here trains through a Runner or runs a tool.
pytestmark = pytest.mark.slow


@HOOKS.register_module()
class BatchRecorderHook(Hook):
    """Records, per iteration, the label files of the batch trained on and
    the optimizer's (lr, weight decay) of a backbone and a decode-head
    parameter."""

    priority = 'VERY_LOW'

    def __init__(self):
        self.batches = {}
        self.views = {}
        self.optim = {}

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        views, samples = views_and_samples(data_batch['data_samples'])
        self.batches[runner.iter] = [(s.get('is_pseudo',
                                            False), s.seg_map_path)
                                     for s in samples]
        self.views[runner.iter] = views
        model = runner.model
        names = {id(p): n for n, p in model.named_parameters()}
        groups = {
            names[id(g['params'][0])].split('.')[0]: g
            for g in runner.optim_wrapper.optimizer.param_groups
        }
        self.optim[runner.iter] = {
            part: (groups[part]['lr'], groups[part]['weight_decay'])
            for part in ('backbone', 'decode_head')
        }


def views_and_samples(samples):
    """Each sample of a collated batch with its view: a plain batch's are
    weak, a multi-view batch's are in the one view each sample has."""
    if not isinstance(samples, dict):
        return ['weak'] * len(samples), samples
    pairs = [
        next((view, column[i]) for view, column in samples.items()
             if column[i] is not None)
        for i in range(len(next(iter(samples.values()))))
    ]
    return [v for v, _ in pairs], [s for _, s in pairs]


def recorder(runner):
    return next(h for h in runner.hooks if isinstance(h, BatchRecorderHook))


def label_files(folder):
    return sorted(
        osp.relpath(osp.join(d, f), folder) for d, _, files in os.walk(folder)
        for f in files if f.endswith('_gtFine_labelTrainIds.png'))


def test_two_rounds_end_to_end(semi_runner_cfg):
    cfg = semi_runner_cfg(round_iters=(4, 3, 3))
    cfg.custom_hooks.append(dict(type='BatchRecorderHook'))
    for loader in (cfg.train_dataloader, cfg.train_cfg.student_dataloader):
        loader.num_workers = 2
        loader.persistent_workers = True
    runner = Runner.from_cfg(cfg)
    runner.train()
    root = osp.join(cfg.work_dir, 'pseudo_labels')
    for r in (1, 2):
        folder = osp.join(root, f'round_{r}')
        files = label_files(folder)
        assert len(files) == 10
        assert all(f.split('/')[0] in ('aachen', 'bochum') for f in files)
        label = cv2.imread(osp.join(folder, files[0]), cv2.IMREAD_UNCHANGED)
        assert label.shape == (32, 64) and label.max() < 19
        with open(osp.join(folder, COMPLETE_MARKER)) as f:
            stats = json.load(f)
        assert stats['num_images'] == 10 and stats['round'] == r
        assert 0 <= stats['mIoU'] <= 1
        assert sum(stats['class_share']) == pytest.approx(1.0)
    assert not osp.exists(osp.join(root, 'round_3'))
    batches, views = recorder(runner).batches, recorder(runner).views
    # Round 0: 4 labeled, weak images per batch; rounds 1 and 2: 2 weak | 2
    # strong views of labeled or pseudo-labeled images, the pseudo labels
    # read from that round's folder.
    for it in range(10):
        flags = [p for p, _ in batches[it]]
        if it < 4:
            assert flags == [False] * 4 and views[it] == ['weak'] * 4
            continue
        r = 1 if it < 7 else 2
        assert views[it] == ['weak', 'weak', 'strong', 'strong']
        for pseudo, path in batches[it]:
            if pseudo:
                assert path.startswith(osp.join(root, f'round_{r}') + os.sep)
    # Over the student rounds both kinds appear in both halves.
    kinds = {(v, p)
             for it in range(4, 10)
             for v, (p, _) in zip(views[it], batches[it])}
    assert ('strong', False) in kinds or ('weak', True) in kinds
    hook = next(h for h in runner.hooks if isinstance(h, PseudoLabelHook))
    assert hook.round == 2
    # Previews (image with pseudo label and ground truth) and the round's
    # statistics reach MMEngine's visualizer backend.
    vis_dir = osp.join(runner.log_dir, 'vis_data')
    previews = os.listdir(osp.join(vis_dir, 'vis_image'))
    for r in (1, 2):
        assert sum(
            p.startswith('pseudo_label_') and p.endswith(f'_{r}.png')
            for p in previews) == 2
    with open(osp.join(vis_dir, 'scalars.json')) as f:
        logged = [json.loads(line) for line in f]
    assert sum('pseudo/mIoU' in row for row in logged) == 2
    assert any('pseudo/share_road' in row for row in logged)


def test_optimizer_settings_per_round(semi_runner_cfg):
    """Teacher: MMSeg's recipe (one lr, weight decay 5e-4); students: the
    release's (lr x 0.2, decode head x 10, weight decay 0), read from the
    real param groups at every iteration of a 3-round run."""
    cfg = semi_runner_cfg(round_iters=(4, 3, 3))
    cfg.custom_hooks.append(dict(type='BatchRecorderHook'))
    runner = Runner.from_cfg(cfg)
    runner.train()
    optim = recorder(runner).optim
    base_lr = cfg.optim_wrapper.optimizer.lr
    starts, lengths = (0, 4, 7), (4, 3, 3)
    for r, (start, n) in enumerate(zip(starts, lengths)):
        for it in range(start, start + n):
            poly = (1 - (it - start) / (n - 1))**0.9
            backbone, head = optim[it]['backbone'], optim[it]['decode_head']
            round_lr = base_lr * (1.0 if r == 0 else 0.2) * poly
            head_mult = 1.0 if r == 0 else 10.0
            weight_decay = 5e-4 if r == 0 else 0.0
            assert backbone == pytest.approx((round_lr, weight_decay))
            assert head == pytest.approx((round_lr * head_mult, weight_decay))


def test_resume_mid_round_reuses_complete_labels(semi_runner_cfg, tmp_path):
    cfg = semi_runner_cfg(round_iters=(4, 3, 3))
    cfg.custom_hooks.append(dict(type='BatchRecorderHook'))
    first = Runner.from_cfg(cfg)
    first.train()
    marker = osp.join(cfg.work_dir, 'pseudo_labels', 'round_1',
                      COMPLETE_MARKER)
    stamp = os.stat(marker).st_mtime_ns
    # Rounds of 4 + 3 + 3 iterations, checkpoints every 3: iter_6.pth is
    # in the middle of round 1 (iterations 4, 5, 6).
    cfg2 = semi_runner_cfg(
        round_iters=(4, 3, 3),
        work_dir=cfg.work_dir,
        load_from=osp.join(cfg.work_dir, 'iter_6.pth'),
        resume=True)
    cfg2.custom_hooks.append(dict(type='BatchRecorderHook'))
    runner = Runner.from_cfg(cfg2)
    runner.train()
    assert os.stat(marker).st_mtime_ns == stamp  # round 1 not relabeled
    batches = recorder(runner).batches
    assert sorted(batches) == [6, 7, 8, 9]
    # Each round's data starts anew and the resumed run skips only the
    # round's batches already trained (2 of round 1): the same images, with
    # the same labels, as the uninterrupted run at every iteration.
    for it in (6, 7, 8, 9):
        assert batches[it] == recorder(first).batches[it]
    # The resumed run's optimizer settings are the uninterrupted run's.
    for it in (6, 7, 8, 9):
        for part in ('backbone', 'decode_head'):
            assert recorder(runner).optim[it][part] == pytest.approx(
                recorder(first).optim[it][part], rel=1e-9, abs=1e-12)
    for it, r in ((6, 1), (7, 2)):
        paths = [path for pseudo, path in batches[it] if pseudo]
        assert all(f'round_{r}' in path for path in paths)


def test_interrupted_labeling_is_redone_on_resume(semi_runner_cfg,
                                                  monkeypatch):
    from mmseg_sb.evaluation.metrics import pseudo_label_metric as writer

    cfg = semi_runner_cfg(round_iters=(4, 4, 4))
    real_write = writer.write_png_atomic
    calls = []

    def crash_after_three(path, label):
        calls.append(path)
        if len(calls) > 3:
            raise KeyboardInterrupt('killed while labeling')
        real_write(path, label)

    monkeypatch.setattr(writer, 'write_png_atomic', crash_after_three)
    with pytest.raises(KeyboardInterrupt):
        Runner.from_cfg(cfg).train()
    round_1 = osp.join(cfg.work_dir, 'pseudo_labels', 'round_1')
    assert 1 <= len(label_files(round_1)) < 10
    assert not osp.exists(osp.join(round_1, COMPLETE_MARKER))

    monkeypatch.setattr(writer, 'write_png_atomic', real_write)
    cfg2 = semi_runner_cfg(
        round_iters=(4, 4, 4), work_dir=cfg.work_dir, resume=True)
    cfg2.custom_hooks.append(dict(type='BatchRecorderHook'))
    runner = Runner.from_cfg(cfg2)
    runner.train()
    assert len(label_files(round_1)) == 10
    assert osp.exists(osp.join(round_1, COMPLETE_MARKER))
    batches = recorder(runner).batches
    assert min(batches) == 4  # resumed at the labeling, end of round 0
    paths = [path for pseudo, path in batches[4] if pseudo]
    assert paths and all('round_1' in path for path in paths)


def test_student_init_initial_restores_start_weights(semi_runner_cfg):
    cfg = semi_runner_cfg(round_iters=(3, 2))
    cfg.default_hooks.pseudo_label.student_init = 'initial'
    runner = Runner.from_cfg(cfg)

    snapshots = {}

    @HOOKS.register_module(force=True)
    class SnapshotHook(Hook):
        priority = 'LOWEST'

        def before_train_iter(self, runner, batch_idx, data_batch=None):
            w = runner.model.backbone.stem[0].weight
            snapshots[runner.iter] = w.detach().clone()

    runner.register_hook(SnapshotHook())
    runner.train()
    assert snapshots[0].equal(snapshots[3])
    assert not snapshots[0].equal(snapshots[2])


@pytest.mark.parametrize('kwargs,match', [
    (dict(round_iters=[5]), 'at least one student round'),
    (dict(round_iters=[5, 0]), 'every student round'),
    (dict(round_iters=[0, 5]), 'teacher_checkpoint is needed'),
    (dict(round_iters=[5, 5],
          teacher_checkpoint='t.pth'), r'round_iters\[0\]=0'),
    (dict(round_iters=[5, 5], student_init='imagenet'), 'student_init'),
])
def test_bad_hook_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        PseudoLabelHook(**kwargs)


def test_setup_errors_before_training(semi_runner_cfg, cityscapes_root,
                                      tmp_path):
    # Overlapping labeled and unlabeled lists.
    overlap = tmp_path / 'overlap.txt'
    with open(osp.join(cityscapes_root, 'splits/tiny/labeled.txt')) as f:
        first = f.readline()
    with open(osp.join(cityscapes_root, 'splits/tiny/unlabeled.txt')) as f:
        overlap.write_text(first + f.read())
    cfg = semi_runner_cfg()
    cfg.train_cfg.student_dataloader.dataset.unlabeled.dataset.ann_file = \
        str(overlap)
    with pytest.raises(ValueError, match='both labeled and unlabeled'):
        Runner.from_cfg(cfg).train()
    # max_iters that disagrees with the rounds.
    cfg = semi_runner_cfg(round_iters=(4, 3, 3))
    cfg.train_cfg.max_iters = 12
    with pytest.raises(ValueError, match='max_iters=12'):
        Runner.from_cfg(cfg).train()
    # Sampler and dataloader batch sizes that disagree.
    # Unlabeled images that are not a PseudoLabeledDataset.
    cfg = semi_runner_cfg()
    student = cfg.train_cfg.student_dataloader.dataset
    student.unlabeled = student.unlabeled.dataset
    with pytest.raises(ValueError, match='as PseudoLabeledDataset parts'):
        Runner.from_cfg(cfg).train()
    cfg = semi_runner_cfg()
    cfg.train_cfg.student_dataloader.batch_size = 3
    with pytest.raises(ValueError, match='sampler.batch_size=4 differs'):
        Runner.from_cfg(cfg).train()


def test_unwritable_work_dir(semi_runner_cfg, tmp_path):
    cfg = semi_runner_cfg(work_dir=str(tmp_path / 'wd'))
    runner = Runner.from_cfg(cfg)
    # A file where the pseudo-label folder should be.
    with open(osp.join(cfg.work_dir, 'pseudo_labels'), 'w') as f:
        f.write('not a folder')
    with pytest.raises(PermissionError, match='pseudo_labels'):
        runner.train()


def save_teacher(semi_runner_cfg, path, seed=0):
    """Save a supervised MMSeg checkpoint of the config's model (plain BN,
    weights drawn with ``seed``) to ``path``."""
    import torch

    from mmseg.registry import MODELS
    sup = semi_runner_cfg().model
    sup.type = 'EncoderDecoder'
    sup.pop('semi_train_cfg')
    sup.pop('unsup_loss')
    torch.manual_seed(seed)
    torch.save({'state_dict': MODELS.build(sup).state_dict()}, str(path))
    return str(path)


def test_teacher_checkpoint(semi_runner_cfg, tmp_path, tiny_model_cfg):
    # A supervised MMSeg checkpoint of the same model (plain BN) is a valid
    # teacher; round 0 is skipped.
    import torch
    path = save_teacher(semi_runner_cfg, tmp_path / 'teacher.pth')
    cfg = semi_runner_cfg(round_iters=(0, 2))
    cfg.default_hooks.pseudo_label.teacher_checkpoint = path
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert osp.exists(
        osp.join(cfg.work_dir, 'pseudo_labels', 'round_1', COMPLETE_MARKER))
    # A checkpoint of another model is refused before training.
    torch.save({'state_dict': {
        'backbone.stem.0.weight': torch.zeros(1)
    }}, path)
    cfg = semi_runner_cfg(round_iters=(0, 2), work_dir=str(tmp_path / 'w2'))
    cfg.default_hooks.pseudo_label.teacher_checkpoint = path
    with pytest.raises(ValueError, match='does not match the model'):
        Runner.from_cfg(cfg).train()


def _train_on_rank(rank, world, init_file, cfg_dict, results):
    """One rank of a two-process run (gloo). MMEngine's pytorch launcher
    needs CUDA, so the process group is made here and the runner, built
    with launcher='none', finds it through mmengine.dist."""
    import torch.distributed as dist
    from mmengine.config import Config

    import mmseg_sb  # noqa: F401
    dist.init_process_group(
        'gloo', init_method=f'file://{init_file}', rank=rank, world_size=world)
    try:
        cfg = Config(cfg_dict)
        cfg.custom_hooks.append(dict(type='BatchRecorderHook'))
        runner = Runner.from_cfg(cfg)
        runner.train()
        results[rank] = (recorder(runner).batches, recorder(runner).views)
    finally:
        dist.destroy_process_group()


def test_two_process_rounds(semi_runner_cfg, tmp_path):
    import torch.multiprocessing as mp
    cfg = semi_runner_cfg(round_iters=(2, 2, 2))
    manager = mp.Manager()
    results = manager.dict()
    mp.spawn(
        _train_on_rank,
        args=(2, str(tmp_path / 'init'), cfg.to_dict(), results),
        nprocs=2)
    root = osp.join(cfg.work_dir, 'pseudo_labels')
    for r in (1, 2):
        assert len(label_files(osp.join(root, f'round_{r}'))) == 10
        with open(osp.join(root, f'round_{r}', COMPLETE_MARKER)) as f:
            assert json.load(f)['num_images'] == 10  # each image once
    # Every rank switched at the same iteration (the same weak/strong layout,
    # where DSBN splits) and reads the same round; the ranks draw different
    # samples.
    batches = {rank: results[rank][0] for rank in (0, 1)}
    views = {rank: results[rank][1] for rank in (0, 1)}
    for it in range(6):
        assert views[0][it] == views[1][it]
        if it >= 2:
            assert views[0][it] == ['weak', 'weak', 'strong', 'strong']
            r = 1 if it < 4 else 2
            for rank in (0, 1):
                assert all(f'round_{r}' in path
                           for pseudo, path in batches[rank][it] if pseudo)
    assert batches[0][3] != batches[1][3]


def read_log(runner):
    """The text of the run's log file (WARNING and above in these tests)."""
    with open(osp.join(runner.log_dir, f'{runner.timestamp}.log')) as f:
        return f.read()


def marker_of(work_dir, r=1):
    with open(
            osp.join(work_dir, 'pseudo_labels', f'round_{r}',
                     COMPLETE_MARKER)) as f:
        return json.load(f)


def teacher_run(semi_runner_cfg,
                work_dir,
                teacher,
                round_iters=(0, 2),
                **overrides):
    """A run of ``round_iters`` in ``work_dir`` from the teacher file."""
    cfg = semi_runner_cfg(
        round_iters=round_iters, work_dir=str(work_dir), **overrides)
    cfg.default_hooks.pseudo_label.teacher_checkpoint = teacher
    return cfg


def test_new_run_with_another_teacher_relabels(semi_runner_cfg, tmp_path):
    """Finding 1 of issue 24: a new run in a used work dir labels with its
    own teacher; a run whose teacher and settings are the same reuses."""
    work_dir = tmp_path / 'wd'
    teacher_a = save_teacher(semi_runner_cfg, tmp_path / 'a.pth', seed=1)
    teacher_b = save_teacher(semi_runner_cfg, tmp_path / 'b.pth', seed=2)
    Runner.from_cfg(teacher_run(semi_runner_cfg, work_dir, teacher_a)).train()
    first = marker_of(work_dir)['provenance']
    assert first['teacher_checkpoint'] == teacher_a
    assert first['num_images'] == 10 and first['tta'] is False
    runner = Runner.from_cfg(teacher_run(semi_runner_cfg, work_dir, teacher_b))
    runner.train()
    second = marker_of(work_dir)['provenance']
    assert second['teacher_checkpoint'] == teacher_b
    assert second['weights'] != first['weights']
    log = read_log(runner)
    assert 'relabeling round 1' in log
    assert f'weights (marker: {first["weights"][:12]}, expected: ' \
        f'{second["weights"][:12]})' in log
    # The same teacher and settings again: the labels are this run's.
    marker = osp.join(work_dir, 'pseudo_labels', 'round_1', COMPLETE_MARKER)
    stamp = os.stat(marker).st_mtime_ns
    runner = Runner.from_cfg(teacher_run(semi_runner_cfg, work_dir, teacher_b))
    runner.train()
    assert os.stat(marker).st_mtime_ns == stamp
    assert 'relabeling' not in read_log(runner)


def test_forged_marker(semi_runner_cfg, tmp_path, write_pseudo_labels):
    """A marker without provenance (forged, copied, or from labels made
    elsewhere) is relabeled at the round's start and refused inside it; so is
    one whose weights differ from those the run labeled with."""
    from mmseg.registry import DATASETS
    work_dir = tmp_path / 'wd'
    teacher = save_teacher(semi_runner_cfg, tmp_path / 'teacher.pth')
    overrides = {
        'default_hooks.checkpoint.interval': 2,
        'train_cfg.val_interval': 2
    }
    cfg = teacher_run(semi_runner_cfg, work_dir, teacher, (0, 4), **overrides)
    round_1 = osp.join(str(work_dir), 'pseudo_labels', 'round_1')
    unlabeled = DATASETS.build(
        cfg.train_cfg.student_dataloader.dataset.unlabeled)
    write_pseudo_labels(unlabeled.dataset, round_1, 7)  # stats only
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert 'provenance (the marker records none' in read_log(runner)
    labeled = marker_of(work_dir)
    assert labeled['provenance']['teacher_checkpoint'] == teacher
    files = label_files(round_1)
    assert len(files) == 10 and labeled['num_images'] == 10
    assert any(
        (cv2.imread(osp.join(round_1, f), cv2.IMREAD_UNCHANGED) != 7).any()
        for f in files)
    # Resumed inside round 1 (iteration 2 of 4), the labels cannot be
    # remade: a marker with other weights, or none, is refused.
    for forged, field in ((dict(
            labeled, provenance=dict(labeled['provenance'], weights='0' * 64)),
                           'weights (marker: 000000000000'),
                          (dict(num_images=10), 'provenance')):
        with open(osp.join(round_1, COMPLETE_MARKER), 'w') as f:
            json.dump(forged, f)
        cfg = teacher_run(
            semi_runner_cfg,
            work_dir,
            teacher, (0, 4),
            load_from=osp.join(str(work_dir), 'iter_2.pth'),
            resume=True,
            **overrides)
        with pytest.raises(RuntimeError) as error:
            Runner.from_cfg(cfg).train()
        message = str(error.value)
        assert f'round 1 in {round_1}' in message and field in message
        assert 'new --work-dir' in message
        assert 'train again without --resume' in message
        assert f'delete {round_1}' in message


def test_grown_split_is_relabeled(semi_runner_cfg, tmp_path, cityscapes_root):
    """The unlabeled split grown by 2 images between two runs in one work
    dir: the round is relabeled and trains on all 10 images."""
    work_dir = tmp_path / 'wd'
    teacher = save_teacher(semi_runner_cfg, tmp_path / 'teacher.pth')
    with open(osp.join(cityscapes_root, 'splits/tiny/unlabeled.txt')) as f:
        names = f.read().split()
    split = tmp_path / 'unlabeled.txt'
    split.write_text('\n'.join(names[:8]) + '\n')
    key = 'train_cfg.student_dataloader.dataset.unlabeled.dataset.ann_file'
    Runner.from_cfg(
        teacher_run(semi_runner_cfg, work_dir, teacher,
                    **{key: str(split)})).train()
    round_1 = osp.join(str(work_dir), 'pseudo_labels', 'round_1')
    assert len(label_files(round_1)) == marker_of(work_dir)['num_images'] == 8
    split.write_text('\n'.join(names) + '\n')
    cfg = teacher_run(semi_runner_cfg, work_dir, teacher, **{key: str(split)})
    cfg.custom_hooks.append(dict(type='BatchRecorderHook'))
    runner = Runner.from_cfg(cfg)
    runner.train()
    log = read_log(runner)
    assert 'num_images (marker: 8, expected: 10)' in log and 'images (' in log
    assert len(label_files(round_1)) == marker_of(work_dir)['num_images'] == 10
    for batch in recorder(runner).batches.values():
        assert all(osp.isfile(path) for pseudo, path in batch if pseudo)


def test_tta_change_is_relabeled(semi_runner_cfg, tmp_path):
    work_dir = tmp_path / 'wd'
    teacher = save_teacher(semi_runner_cfg, tmp_path / 'teacher.pth')
    Runner.from_cfg(teacher_run(semi_runner_cfg, work_dir, teacher)).train()
    cfg = teacher_run(semi_runner_cfg, work_dir, teacher)
    cfg.default_hooks.pseudo_label.tta = True
    # Flips only: 2 views an image (the config's TTA has 12).
    cfg.tta_pipeline[1].transforms = [[
        dict(type='RandomFlip', prob=p, direction='horizontal')
        for p in (0.0, 1.0)
    ], *cfg.tta_pipeline[1].transforms[-2:]]
    runner = Runner.from_cfg(cfg)
    runner.train()
    log = read_log(runner)
    assert 'tta (marker: false, expected: true)' in log
    assert 'pipeline (' in log  # the TTA pipeline labels
    provenance = marker_of(work_dir)['provenance']
    assert provenance['tta'] is True
    assert provenance['pipeline'][1]['type'] == 'TestTimeAug'
