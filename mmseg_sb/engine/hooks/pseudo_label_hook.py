# Copyright (c) mmseg_sb contributors. All rights reserved.
import copy
import json
import os
import os.path as osp
import shutil
import tempfile
from collections import Counter
from typing import List, Optional, Sequence

import torch
import torch.nn as nn
from mmengine.dist import barrier, is_main_process
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import CheckpointLoader, IterBasedTrainLoop
from mmengine.runner.loops import _InfiniteDataloaderIterator

from mmseg.models import SegTTAModel
from mmseg.registry import HOOKS
from ...datasets import SemiSegDataset, SemiSegSampler
from ..pseudo_labeler import PseudoLabeler
from ..rounds import round_of, round_starts
from ..schedulers import RoundPolyParamScheduler

#: Student initialisation at the start of a round.
STUDENT_INITS = ('teacher', 'initial')
#: File that marks a pseudo-label round as complete.
COMPLETE_MARKER = 'round_complete.json'
#: Key of the hook's state in the checkpoint's meta.
STATE_KEY = 'pseudo_label_hook'
#: Buffer names the model may lack in a supervised (teacher) checkpoint.
_OPTIONAL_KEYS = ('dsbn_aux_trained', )


def optimizer_summary(runner) -> str:
    """Param groups counted by (lr, weight decay), e.g. ``'266 at lr 0.002,
    weight decay 0; 41 at lr 0.02, weight decay 0'``."""
    counts = Counter((g['lr'], g.get('weight_decay', 0))
                     for g in runner.optim_wrapper.optimizer.param_groups)
    return '; '.join(f'{n} at lr {lr:.6g}, weight decay {wd:.6g}'
                     for (lr, wd), n in sorted(counts.items()))


@HOOKS.register_module()
class PseudoLabelHook(Hook):
    """Runs the self-training rounds inside one training run.

    Yuan et al., "A Simple Baseline for Semi-supervised Semantic Segmentation
    with Strong Data Augmentation", ICCV 2021, section 3.1: round 0 trains
    the teacher on labeled images only; at the end of each round the current
    model (DSBN main branch, eval mode) labels every unlabeled image and the
    next round trains a student on labeled + pseudo-labeled batches; the
    student becomes the next teacher. ``round_iters[r]`` is the length of
    round ``r``; the pseudo labels that round ``r`` trains on are written by
    :class:`PseudoLabeler` under ``work_dir/pseudo_labels/round_<r>/``.

    The hook decides when; :class:`PseudoLabeler` labels, and
    :class:`SemiSegDataset` / :class:`SemiSegSampler` switch the batches to
    ``[labeled | pseudo]``. A round's labels are used only after every file
    exists and the round's marker ``round_complete.json`` (with the round's
    statistics) is written; then the training data workers are restarted so
    that none of them holds the previous state. With several processes each
    rank labels its shard and all ranks switch after a barrier.

    It runs after :class:`CheckpointHook` (priority ``LOWEST``), so a
    checkpoint saved at the end of a round precedes the labeling: a run
    resumed from it relabels if the pass was interrupted, reuses complete
    rounds, and never reads a partial one.

    Args:
        round_iters (Sequence[int]): Iterations of round 0 (the teacher) and
            of each student round. Their sum must equal ``train_cfg``'s
            ``max_iters``; give the same list to :class:`RoundPolyLR`.
        teacher_checkpoint (str, optional): A trained teacher. Round 0 is then
            skipped and must have 0 iterations. Defaults to None.
        student_init (str): ``'teacher'`` (continue from the teacher's
            weights, as the authors did) or ``'initial'`` (restart every
            student from the weights the run started with). Defaults to
            ``'teacher'``.
        reset_optimizer (bool): Clear the optimizer state (momentum) at the
            start of each student round, as a new run would. Defaults to True.
        tta (bool): Label with MMSeg's test-time augmentation (the config's
            ``tta_model`` and ``tta_pipeline``: flip, multi-scale).
            Defaults to False.
        pipeline (list[dict], optional): Labeling pipeline. Defaults to the
            config's test pipeline (or ``tta_pipeline``) without
            ``LoadAnnotations``.
        num_workers (int): Data workers of the labeling pass. Defaults to 2.
        num_previews (int): Images drawn per round (image with pseudo label
            and ground truth) with the runner's SegLocalVisualizer.
            Defaults to 4.
    """

    priority = 'LOWEST'

    def __init__(self,
                 round_iters: Sequence[int],
                 teacher_checkpoint: Optional[str] = None,
                 student_init: str = 'teacher',
                 reset_optimizer: bool = True,
                 tta: bool = False,
                 pipeline: Optional[List[dict]] = None,
                 num_workers: int = 2,
                 num_previews: int = 4) -> None:
        round_iters = list(round_iters)
        if len(round_iters) < 2 or any(not isinstance(n, int) or n < 0
                                       for n in round_iters):
            raise ValueError(
                f'PseudoLabelHook round_iters={round_iters} must list the '
                'iterations of round 0 (the teacher) and of at least one '
                'student round, as non-negative ints.')
        if any(n == 0 for n in round_iters[1:]):
            raise ValueError(f'PseudoLabelHook round_iters={round_iters}: '
                             'every student round needs iterations.')
        if teacher_checkpoint is None and round_iters[0] == 0:
            raise ValueError(
                'PseudoLabelHook round_iters[0]=0 skips the teacher round, '
                'so a teacher_checkpoint is needed.')
        if teacher_checkpoint is not None and round_iters[0] != 0:
            raise ValueError(
                f'PseudoLabelHook got teacher_checkpoint={teacher_checkpoint}'
                f' and round_iters[0]={round_iters[0]}; with a teacher, set '
                'round_iters[0]=0 (and max_iters to the students\' total).')
        if student_init not in STUDENT_INITS:
            raise ValueError(f'PseudoLabelHook student_init={student_init!r}'
                             f' must be one of {STUDENT_INITS}.')
        self.round_iters = round_iters
        self.round_starts = round_starts(round_iters)
        self.teacher_checkpoint = teacher_checkpoint
        self.student_init = student_init
        self.reset_optimizer = reset_optimizer
        self.tta = tta
        self.pipeline = pipeline
        self.num_workers = num_workers
        self.num_previews = num_previews
        self.round = 0
        self._student_pending = False
        self._resumed_state: Optional[dict] = None

    # ------------------------------------------------------------------
    # Hook entry points
    # ------------------------------------------------------------------
    def before_train(self, runner) -> None:
        """Check the setup, then enter the round the run is in."""
        self._check_setup(runner)
        self.label_root = osp.join(runner.work_dir, 'pseudo_labels')
        self._check_writable(self.label_root)
        self.labeler = self._build_labeler(runner)
        if runner.iter == 0:
            if self.student_init == 'initial':
                self._save_initial_weights(runner)
            if self.teacher_checkpoint is not None:
                self._load_teacher(runner)
        r = round_of(runner.iter, self.round_iters)
        if self._resumed_state is not None:
            done = self._resumed_state['round_iters'][:r]
            if done != self.round_iters[:r]:
                raise ValueError(
                    'PseudoLabelHook: the checkpoint finished rounds '
                    f'{done}, the config says {self.round_iters[:r]}; a '
                    'resumed run may change or add rounds only from the '
                    'current one on.')
        if r >= 1:
            self._enter_round(runner, r)

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        """At the end of a round, label and start the next one."""
        done = runner.iter + 1
        if done < runner.max_iters and done in self.round_starts[1:]:
            self._enter_round(runner, round_of(done, self.round_iters))

    def before_train_iter(self,
                          runner,
                          batch_idx: int,
                          data_batch=None) -> None:
        """Initialise the student at the first iteration of a round."""
        if self._student_pending:
            self._init_student(runner)
            self._student_pending = False

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint.setdefault('meta', {})[STATE_KEY] = dict(
            round=self.round, round_iters=self.round_iters)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        self._resumed_state = checkpoint.get('meta', {}).get(STATE_KEY)

    # ------------------------------------------------------------------
    # Rounds
    # ------------------------------------------------------------------
    def round_dir(self, r: int) -> str:
        """Folder of the pseudo labels that round ``r`` trains on."""
        return osp.join(self.label_root, f'round_{r}')

    def is_complete(self, r: int) -> bool:
        return osp.isfile(osp.join(self.round_dir(r), COMPLETE_MARKER))

    def _enter_round(self, runner, r: int) -> None:
        """Make round ``r``'s labels (if needed) and train on them."""
        at_start = runner.iter == self.round_starts[r] or (
            runner.iter + 1 == self.round_starts[r])
        if not self.is_complete(r):
            if not at_start:
                raise RuntimeError(
                    f'PseudoLabelHook: the pseudo labels of round {r} '
                    f'({self.round_dir(r)}) are incomplete but the run is '
                    'past the start of the round; they cannot be remade '
                    'from this checkpoint. Resume from the checkpoint at '
                    f'iteration {self.round_starts[r]}.')
            self._label(runner, r)
        dataset = runner.train_dataloader.dataset
        dataset.set_pseudo_label_dir(self.round_dir(r))
        # The student starts at the round's first iteration, after the
        # validation that the loop runs at the end of the previous round.
        self._student_pending = at_start
        self._restart_data_workers(runner)
        self.round = r
        runner.logger.info(f'PseudoLabelHook: round {r} trains on '
                           f'{dataset.num_labeled} labeled and '
                           f'{dataset.num_unlabeled} pseudo-labeled images '
                           f'from {self.round_dir(r)}; optimizer param '
                           f'groups: {optimizer_summary(runner)}.')

    def _label(self, runner, r: int) -> None:
        """Label every unlabeled image into round ``r``'s folder."""
        out_dir = self.round_dir(r)
        if is_main_process():
            shutil.rmtree(out_dir, ignore_errors=True)  # a partial pass
            os.makedirs(out_dir)
        barrier()
        model = self._model(runner)
        was_training = model.training
        model.eval()
        runner.logger.info(f'PseudoLabelHook: labeling '
                           f'{len(self.labeler.dataset)} images for round '
                           f'{r} into {out_dir}')
        labeling_model = SegTTAModel(module=model) if self.tta else model
        stats = self.labeler.run(
            labeling_model,
            out_dir,
            previews=self.num_previews,
            visualizer=runner.visualizer,
            step=r)
        model.train(was_training)
        barrier()
        if is_main_process():
            missing = [
                p for p in self.labeler.label_paths(out_dir)
                if not osp.isfile(p)
            ]
            if missing:
                raise RuntimeError(
                    f'PseudoLabelHook: {len(missing)} pseudo labels of round '
                    f'{r} were not written, e.g. {missing[0]}.')
            stats['round'] = r
            marker = osp.join(out_dir, COMPLETE_MARKER)
            with open(marker + '.tmp', 'w') as f:
                json.dump(stats, f, indent=2)
            os.replace(marker + '.tmp', marker)
        barrier()
        self._log_stats(runner, r, stats)

    def _init_student(self, runner) -> None:
        """Start a student round: initial weights (option), fresh
        optimizer state (option)."""
        if self.student_init == 'initial':
            state = torch.load(
                self._initial_weights_path,
                map_location='cpu',
                weights_only=True)
            self._model(runner).load_state_dict(state)
        if self.reset_optimizer:
            runner.optim_wrapper.optimizer.state.clear()

    @staticmethod
    def _restart_data_workers(runner) -> None:
        """Rebuild the training iterator so that no worker (persistent or
        not) and no prefetched batch predates the switch."""
        loop = runner.train_loop
        old = loop.dataloader_iterator._iterator
        if hasattr(old, '_shutdown_workers'):
            old._shutdown_workers()
        loop.dataloader._iterator = None
        loop.dataloader_iterator = _InfiniteDataloaderIterator(loop.dataloader)

    def _log_stats(self, runner, r: int, stats: dict) -> None:
        classes = runner.train_dataloader.dataset.metainfo['classes']
        scalars = {
            'pseudo/images_per_s': stats['images_per_s'],
            'pseudo/mean_confidence': stats['mean_confidence'],
        }
        scalars.update({
            f'pseudo/share_{name}': share
            for name, share in zip(classes, stats['class_share'])
        })
        lines = [
            f'PseudoLabelHook: round {r} labels: '
            f'{stats["num_images"]} images, '
            f'{stats["images_per_s"]:.2f} images/s, mean confidence '
            f'{stats["mean_confidence"]:.4f}'
        ]
        if 'mIoU' in stats:
            scalars['pseudo/mIoU'] = stats['mIoU']
            lines.append(f'pseudo-label mIoU vs ground truth: '
                         f'{100 * stats["mIoU"]:.2f}')
        shares = ', '.join(
            f'{name} {100 * share:.1f}%'
            for name, share in zip(classes, stats['class_share']))
        lines.append(f'class pixel share: {shares}')
        runner.logger.info('\n'.join(lines))
        runner.visualizer.add_scalars(scalars, step=runner.iter + 1)

    # ------------------------------------------------------------------
    # Setup
    # ------------------------------------------------------------------
    @staticmethod
    def _model(runner) -> nn.Module:
        model = runner.model
        return model.module if is_model_wrapper(model) else model

    def _check_setup(self, runner) -> None:
        """Clear errors for a setup that cannot work, before training."""
        loader = runner.train_dataloader
        dataset = loader.dataset
        if not isinstance(dataset, SemiSegDataset):
            raise TypeError('PseudoLabelHook needs train_dataloader.dataset '
                            f'to be a SemiSegDataset, got '
                            f'{type(dataset).__name__}.')
        sampler = loader.sampler
        if not isinstance(sampler, SemiSegSampler):
            raise TypeError('PseudoLabelHook needs train_dataloader.sampler '
                            f'to be a SemiSegSampler, got '
                            f'{type(sampler).__name__}.')
        if sampler.batch_size != loader.batch_size:
            raise ValueError(
                f'SemiSegSampler batch_size={sampler.batch_size} differs '
                f'from train_dataloader batch_size={loader.batch_size}; '
                'set them to the same value.')
        dataset.full_init()
        labeled = {
            dataset.labeled_dataset.get_data_info(i)['img_path']
            for i in range(dataset.num_labeled)
        }
        overlap = sorted(
            labeled.intersection(
                dataset.unlabeled_dataset.get_data_info(i)['img_path']
                for i in range(dataset.num_unlabeled)))
        if overlap:
            raise ValueError(
                f'{len(overlap)} images are both labeled and unlabeled, e.g. '
                f'{overlap[:3]}; fix the split files (tools/splits.py '
                'checks them).')
        loop = runner.train_loop
        if not isinstance(loop, IterBasedTrainLoop):
            raise TypeError('PseudoLabelHook needs an IterBasedTrainLoop, '
                            f'got {type(loop).__name__}.')
        if loop.max_iters != sum(self.round_iters):
            raise ValueError(
                f'train_cfg max_iters={loop.max_iters} differs from '
                f'sum(round_iters)={sum(self.round_iters)} '
                f'(round_iters={self.round_iters}); make them agree.')
        for scheduler in runner.param_schedulers or []:
            if isinstance(scheduler, RoundPolyParamScheduler) and \
                    scheduler.round_iters != self.round_iters:
                raise ValueError(
                    f'{type(scheduler).__name__} round_iters='
                    f'{scheduler.round_iters} differ '
                    f'from PseudoLabelHook round_iters={self.round_iters}.')

    @staticmethod
    def _check_writable(folder: str) -> None:
        try:
            os.makedirs(folder, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=folder):
                pass
        except OSError as e:
            raise PermissionError(
                f'PseudoLabelHook cannot write pseudo labels to {folder} '
                f'({e}); choose a writable --work-dir.') from e

    def _build_labeler(self, runner) -> PseudoLabeler:
        dataset = runner.train_dataloader.dataset
        pipeline = self.pipeline
        if pipeline is None:
            source = runner.cfg.get('tta_pipeline') if self.tta else \
                runner.cfg.test_dataloader.dataset.pipeline
            pipeline = [
                copy.deepcopy(t) for t in source
                if t['type'] != 'LoadAnnotations'
            ]
            if self.tta:
                # TestTimeAug lists its steps; drop the annotation step.
                for t in pipeline:
                    if t['type'] == 'TestTimeAug':
                        t['transforms'] = [
                            step for step in t['transforms'] if all(
                                s['type'] != 'LoadAnnotations' for s in step)
                        ]
        decode_head = self._model(runner).decode_head
        return PseudoLabeler(
            dataset.unlabeled_dataset,
            pipeline,
            num_classes=decode_head.num_classes,
            gt_dir=dataset.unlabeled_gt_dir,
            ignore_index=decode_head.ignore_index,
            num_workers=self.num_workers)

    @property
    def _initial_weights_path(self) -> str:
        return osp.join(self.label_root, 'initial_weights.pth')

    def _save_initial_weights(self, runner) -> None:
        if is_main_process():
            torch.save(
                self._model(runner).state_dict(), self._initial_weights_path)
        barrier()

    def _load_teacher(self, runner) -> None:
        """Load the teacher; a checkpoint that does not fit raises."""
        path = self.teacher_checkpoint
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'PseudoLabelHook teacher_checkpoint {path} does not exist.')
        checkpoint = CheckpointLoader.load_checkpoint(path, map_location='cpu')
        state = checkpoint.get('state_dict', checkpoint)
        state = {
            k[len('module.'):] if k.startswith('module.') else k: v
            for k, v in state.items()
        }
        model = self._model(runner)
        try:
            missing, unexpected = model.load_state_dict(state, strict=False)
        except RuntimeError as e:
            raise ValueError(f'Teacher checkpoint {path} does not match the '
                             f'model: {e}') from e
        missing = [k for k in missing if k not in _OPTIONAL_KEYS]
        if missing or unexpected:
            raise ValueError(
                f'Teacher checkpoint {path} does not match the model: '
                f'{len(missing)} missing keys (e.g. {missing[:3]}), '
                f'{len(unexpected)} unexpected keys (e.g. {unexpected[:3]}).'
                ' Was it trained with the same model config?')
        runner.logger.info(f'PseudoLabelHook: loaded teacher {path}')
