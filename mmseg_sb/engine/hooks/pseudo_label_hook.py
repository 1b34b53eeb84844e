# Copyright (c) mmseg_sb contributors. All rights reserved.
import os.path as osp
from typing import Dict, List, Optional, Sequence

from mmengine.hooks import Hook
from mmengine.runner import Runner

from mmseg.registry import HOOKS
from ...utils import PSEUDO_LABEL_DIR, load_teacher
from ..rounds import ROUND_INFO, check_resumed_rounds, check_rounds
from ..runner_utils import (build_pseudo_labeler, check_self_training_setup,
                            load_weights, optimizer_summary, save_weights,
                            unwrap_model)

#: Student initialisation at the start of a round.
STUDENT_INITS = ('teacher', 'initial')
#: Key of the hook's state in the checkpoint's meta.
STATE_KEY = 'pseudo_label_hook'


@HOOKS.register_module()
class PseudoLabelHook(Hook):
    """Runs the self-training rounds inside one training run.

    Yuan et al., ICCV 2021, section 3.1: round 0 trains the teacher on the
    labeled images; at the end of each round the current model labels every
    unlabeled image and the next round trains a student on them, which then
    becomes the teacher. The hook decides when, and nothing else: a
    :class:`PseudoLabeler` makes and owns each round's labels
    (``work_dir/pseudo_labels/round_<r>/``), :class:`SelfTrainingLoop`
    trains the round on a loader built with them. It runs after
    ``CheckpointHook`` (priority ``LOWEST``), so a resumed run relabels an
    interrupted pass, reuses complete rounds and never reads a partial one.

    A round's folder is trained on only if its marker's provenance matches
    what this run would write (:meth:`PseudoLabeler.stale_reasons`): the
    weights of the model at the round's start, the images, the settings
    and the label format. Otherwise, at the round's start (a new run in a
    used work dir, or a resume from the round-start checkpoint), the hook
    logs why and relabels; inside the round (a resume from a later
    checkpoint) the labeler's weights are no longer the model's, so they are
    compared with the hash this run recorded when it entered the round
    (kept in the checkpoint), and a mismatch is an error naming the fixes.

    The rounds are given here and nowhere else: the config's
    ``default_hooks.pseudo_label.round_iters``. :class:`SelfTrainingLoop`
    (``train_cfg``) derives the run's length, the validation and checkpoint
    intervals and the round schedulers from them, and owns each round's
    data. The current round is
    published on the runner's message hub (runtime info
    :data:`~mmseg_sb.engine.rounds.ROUND_INFO`) for schedulers, hooks and
    logs.

    Args:
        round_iters (Sequence[int]): Iterations of round 0 (the teacher) and
            of each student round.
        teacher_checkpoint (str, optional): A trained teacher; round 0 is
            then skipped and must have 0 iterations. Defaults to None.
        student_init (str): ``'teacher'`` (continue from the teacher, as the
            authors did) or ``'initial'`` (restart every student from the
            run's initial weights). Defaults to ``'teacher'``.
        reset_optimizer (bool): Clear the optimizer state (momentum) at the
            start of each student round. Defaults to True.
        tta (bool): Label with MMSeg's test-time augmentation (the config's
            ``tta_pipeline``: flip, multi-scale). Defaults to False.
        pipeline (list[dict], optional): Labeling pipeline. Defaults to the
            config's test (or TTA) pipeline without ``LoadAnnotations``.
        num_workers (int): Data workers of the labeling pass. Defaults to 2.
        num_previews (int): Images drawn per round with the runner's
            visualizer. Defaults to 4.
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
        self.rounds = check_rounds(round_iters, teacher_checkpoint)
        if student_init not in STUDENT_INITS:
            raise ValueError(f'PseudoLabelHook student_init={student_init!r}'
                             f' must be one of {STUDENT_INITS}.')
        self.round_iters = self.rounds.iters
        self.teacher_checkpoint = teacher_checkpoint
        self.student_init = student_init
        self.reset_optimizer = reset_optimizer
        self.tta = tta
        self.pipeline = pipeline
        self.num_workers = num_workers
        self.num_previews = num_previews
        self.round = 0
        self._student_pending = False
        self._resumed_rounds: Optional[List[int]] = None
        # Round -> weights hash of the model that labeled it, in this run.
        self._label_weights: Dict[int, str] = {}

    def before_train(self, runner: Runner) -> None:
        """Check the setup, load the teacher (option), then enter the round
        the run is in."""
        if getattr(runner.train_loop, 'rounds', None) is not self.rounds:
            raise TypeError(
                'PseudoLabelHook needs train_cfg=dict(type="SelfTrainingLoop")'
                f', got {type(runner.train_loop).__name__}; the loop takes '
                "the run's length and intervals from the hook's rounds.")
        check_self_training_setup(runner)
        self.labeler = build_pseudo_labeler(runner, self.pipeline, self.tta,
                                            self.num_workers)
        self._initial_weights = osp.join(runner.work_dir, PSEUDO_LABEL_DIR,
                                         'initial_weights.pth')
        if runner.iter == 0 and self.student_init == 'initial':
            save_weights(runner, self._initial_weights)
        if runner.iter == 0 and self.teacher_checkpoint is not None:
            model = unwrap_model(runner)
            load_teacher(model, self.teacher_checkpoint,
                         getattr(model, 'teacher_optional_keys', ()))
            runner.logger.info('PseudoLabelHook: loaded teacher '
                               f'{self.teacher_checkpoint}')
        r = self.rounds.of(runner.iter)
        check_resumed_rounds(self._resumed_rounds, self.rounds, r)
        if r >= 1:
            self._enter_round(runner, r)
        else:
            self._publish(runner, 0)
            runner.logger.info('PseudoLabelHook: round 0 (the teacher); '
                               'optimizer param groups: '
                               f'{optimizer_summary(runner)}.')

    def after_train_iter(self,
                         runner: Runner,
                         batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        """At the end of a round, switch to the next one."""
        done = runner.iter + 1
        if done < runner.max_iters and done in self.rounds.starts[1:]:
            self._enter_round(runner, self.rounds.of(done))

    def before_train_iter(self,
                          runner: Runner,
                          batch_idx: int,
                          data_batch: Optional[dict] = None) -> None:
        """At the first iteration of a student round: initial weights
        (``student_init='initial'``) and a fresh optimizer state."""
        if not self._student_pending:
            return
        self._student_pending = False
        if self.student_init == 'initial':
            load_weights(runner, self._initial_weights)
        if self.reset_optimizer:
            runner.optim_wrapper.optimizer.state.clear()

    def before_save_checkpoint(self, runner: Runner, checkpoint: dict) -> None:
        """Keep the round, the rounds' lengths and the weights hash of each
        round's labeler in the checkpoint."""
        checkpoint.setdefault('meta', {})[STATE_KEY] = dict(
            round=self.round,
            round_iters=self.round_iters,
            label_weights=dict(self._label_weights))

    def after_load_checkpoint(self, runner: Runner, checkpoint: dict) -> None:
        """Remember the resumed run's rounds, checked in before_train, and
        the weights its rounds were labeled with."""
        state = checkpoint.get('meta', {}).get(STATE_KEY)
        self._resumed_rounds = state and state['round_iters']
        self._label_weights = dict((state or {}).get('label_weights', {}))

    def _enter_round(self, runner: Runner, r: int) -> None:
        """Have round ``r``'s labels made (unless its folder holds those
        this run would make), then train on them from the next iteration."""
        start = self.rounds.starts[r]
        at_start = runner.iter in (start, start - 1)
        label_dir = self.labeler.round_dir(r)
        # At the round's start the model labels; inside it, the model is the
        # student and the labeler's hash is the one recorded at the start.
        weights = self.labeler.weights_hash(unwrap_model(runner)) \
            if at_start else self._label_weights.get(r)
        expected = self.labeler.provenance(
            weights, self.teacher_checkpoint if r == 1 else None)
        stale = self.labeler.stale_reasons(r, expected)
        if stale and not at_start:
            raise RuntimeError(self._refusal(runner, r, start, stale))
        if stale:
            if osp.isdir(label_dir):
                runner.logger.warning(
                    f'PseudoLabelHook: relabeling round {r} in {label_dir}:'
                    f' its labels are not this run\'s: {"; ".join(stale)}.')
            self.labeler.label_round(
                unwrap_model(runner),
                r,
                expected,
                previews=self.num_previews,
                visualizer=runner.visualizer,
                step=runner.iter + 1)
        self._label_weights[r] = weights
        runner.train_loop.train_on_round(label_dir)
        # The student starts at the round's first iteration, after the
        # validation that the loop runs at the end of the previous round.
        self._student_pending = at_start
        self._publish(runner, r)
        runner.logger.info(
            f'PseudoLabelHook: round {r} trains on '
            f'{len(runner.train_loop.unlabeled_dataset)} pseudo-labeled '
            f'images from {label_dir}; optimizer param groups: '
            f'{optimizer_summary(runner)}.')

    def _refusal(self, runner: Runner, r: int, start: int,
                 stale: List[str]) -> str:
        """The error of a resume inside round ``r`` whose labels are not
        the ones the run trained on (``stale``: why)."""
        label_dir = self.labeler.round_dir(r)
        restart = 'train again without --resume' if start == 0 else (
            "resume from the round's start (--resume --cfg-options load_from="
            f'{osp.join(runner.work_dir, f"iter_{start}.pth")})')
        return (
            f'PseudoLabelHook: the pseudo labels of round {r} in {label_dir} '
            f'are not the ones this run trained on: {"; ".join(stale)}. The '
            f'run resumes at iteration {runner.iter}, inside round {r} '
            f'(iterations {start} to {self.rounds.end(r)}), where they cannot '
            'be remade: the model is no longer the one that labeled them. '
            f'Fixes: train in a new --work-dir; or {restart}, which relabels '
            f'the round (delete {label_dir} before, to discard these labels '
            'at once).')

    def _publish(self, runner: Runner, r: int) -> None:
        """Make ``r`` the current round, for the hook and the message
        hub."""
        self.round = r
        runner.message_hub.update_info(ROUND_INFO, r)
