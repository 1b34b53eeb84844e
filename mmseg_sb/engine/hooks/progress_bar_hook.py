# Copyright (c) mmseg_sb contributors. All rights reserved.
import sys
import time
from typing import Optional, TextIO

from mmengine.hooks import Hook
from mmengine.runner import Runner

from mmseg.registry import HOOKS
from ...utils import read_round_stats, round_dir
from ..rounds import ROUND_INFO

#: A bar is redrawn at most this many times.
NUM_REDRAWS = 100
#: Width of a bar's name.
NAME_WIDTH = 28


@HOOKS.register_module()
class ProgressBarHook(Hook):
    """Progress bars of a training run, for a terminal whose MMEngine logs
    go elsewhere (``tools/demo.py``).

    A plain run draws one bar, named ``stage``. A self-training run (one
    with a :class:`PseudoLabelHook`) draws one bar per round and, before
    each student round, a line for its labeling pass: the images labeled,
    the seconds it took, and the statistics kept in the round's marker (mean
    confidence, and the pseudo labels' mIoU where the unlabeled images have
    ground truth). The current round is read from the runner's message hub
    (runtime info :data:`~mmseg_sb.engine.rounds.ROUND_INFO`), the rounds
    from the run's :class:`SelfTrainingLoop` (the hook's), the statistics from
    :func:`~mmseg_sb.utils.read_round_stats`.

    Example::

        custom_hooks = [dict(type='ProgressBarHook', stage='self-training')]

    Args:
        stage (str): The bar's name in a plain run. Defaults to
            ``'training'``.
        width (int): Characters of a bar. Defaults to 30.
        stream (TextIO, optional): Where to draw. Defaults to None:
            ``sys.stdout`` at the time of drawing.
    """

    priority = 'VERY_LOW'

    def __init__(self,
                 stage: str = 'training',
                 width: int = 30,
                 stream: Optional[TextIO] = None) -> None:
        if not isinstance(width, int) or width < 1:
            raise ValueError(
                f'ProgressBarHook width={width!r} must be a positive int.')
        self.stage = stage
        self.width = width
        self.stream = stream

    def before_train(self, runner: Runner) -> None:
        """Find the rounds, if any; start the clocks."""
        # A SelfTrainingLoop holds the PseudoLabelHook's rounds.
        self._rounds = getattr(runner.train_loop, 'rounds', None)
        self._round: Optional[int] = None
        self._label_start = self._bar_start = time.time()
        self._line_open = False

    def before_train_iter(self,
                          runner: Runner,
                          batch_idx: int,
                          data_batch: Optional[dict] = None) -> None:
        """Report a new round; start its bar's clock."""
        self._check_round(runner)
        if self._bar_start is None:
            self._bar_start = time.time()

    def before_val(self, runner: Runner) -> None:
        """Report a new round (the switch labels before validating)."""
        self._check_round(runner)

    def after_train_iter(self,
                         runner: Runner,
                         batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        """Draw the bar; at a round's end, start the labeling clock."""
        done = runner.iter + 1
        if self._rounds is None:
            self._draw(self.stage, done, 0, runner.max_iters)
            return
        r = self._round
        begin, end = self._rounds.starts[r], self._rounds.end(r)
        name = f'student round {r}' if r else 'teacher round 0'
        self._draw(name, done, begin, end)
        if done == end:
            self._label_start = time.time()

    def after_train(self, runner: Runner) -> None:
        """End the last bar's line."""
        self._end_line()

    def _check_round(self, runner: Runner) -> None:
        """If the message hub says a new round began, end the previous bar
        and, for a student round, write its labeling line."""
        if self._rounds is None:
            return
        r = runner.message_hub.get_info(ROUND_INFO)
        if r is None or r == self._round:
            return
        self._end_line()
        self._round = r
        self._bar_start = None
        if r >= 1:
            stats = read_round_stats(round_dir(runner.work_dir, r))
            self._write(
                self.labeling_line(r, stats,
                                   time.time() - self._label_start))

    @staticmethod
    def labeling_line(r: int, stats: dict, seconds: float) -> str:
        """The line of round ``r``'s labeling pass.

        Args:
            r (int): The round the labels are for.
            stats (dict): The statistics of the round's marker:
                ``num_images``, and optionally ``mean_confidence`` and
                ``mIoU`` (fractions).
            seconds (float): The time the pass took.

        Returns:
            str: The line, ending in a newline.
        """
        parts = [f'{stats["num_images"]} images', f'{seconds:.0f} s']
        if 'mean_confidence' in stats:
            parts.append(f'mean confidence {stats["mean_confidence"]:.3f}')
        if 'mIoU' in stats:
            parts.append(f'pseudo-label mIoU {100 * stats["mIoU"]:.2f}')
        return f'  labeling round {r}: ' + ', '.join(parts) + '\n'

    def _draw(self, name: str, done: int, begin: int, end: int) -> None:
        """Redraw the bar of iterations ``begin`` to ``end`` at ``done``,
        at most :data:`NUM_REDRAWS` times and always at its end."""
        total = end - begin
        if (done - begin) % max(total // NUM_REDRAWS, 1) and done != end:
            return
        fill = int(self.width * (done - begin) / max(total, 1))
        bar = '#' * fill + '.' * (self.width - fill)
        self._write(f'\r  {name:<{NAME_WIDTH}} [{bar}] '
                    f'{done - begin:>5}/{total} it, '
                    f'{time.time() - self._bar_start:4.0f} s')
        self._line_open = True

    def _end_line(self) -> None:
        if self._line_open:
            self._write('\n')
            self._line_open = False

    def _write(self, text: str) -> None:
        stream = self.stream or sys.stdout
        stream.write(text)
        stream.flush()
