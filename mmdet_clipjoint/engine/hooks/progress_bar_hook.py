# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""One progress bar per training and per evaluation, for runs whose logs
go to a file (:func:`mmdet_clipjoint.utils.console.console_to_file`)."""
import sys
from typing import Optional, TextIO

from mmengine.hooks import Hook

from mmdet.registry import HOOKS

__all__ = ['ProgressBarHook']


@HOOKS.register_module()
class ProgressBarHook(Hook):
    """tqdm bars over the training iterations and the val / test batches.

    Args:
        desc (str): Label of the bars (e.g. the run's name).
        stream (TextIO, optional): Where the bars go; default the
            ``sys.stdout`` of when the hook was built (the console, also if
            the run's own output is redirected to a file afterwards).
    """

    priority = 'VERY_LOW'

    def __init__(self, desc: str = '', stream: Optional[TextIO] = None):
        self.desc = desc
        self.stream = stream or sys.stdout
        self._bar = None
        self._train_bar = None  # kept open while validating mid-run

    def _open(self, total: int, what: str) -> None:
        from tqdm import tqdm
        self._close()
        label = f'{self.desc} {what}'.strip()
        self._bar = tqdm(total=total, desc=label, file=self.stream,
                         unit='it', dynamic_ncols=True, leave=True)

    def _step(self, runner=None) -> None:
        if self._bar is not None:
            self._bar.update(1)
            if runner is not None and runner.message_hub is not None:
                loss = runner.message_hub.get_scalar('train/loss')
                if loss is not None and loss.current() is not None:
                    self._bar.set_postfix_str(f'loss {loss.current():.3f}',
                                              refresh=False)

    def _close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def before_train(self, runner) -> None:
        self._open(runner.max_iters - runner.iter, 'train')

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        self._step(runner)

    def after_train(self, runner) -> None:
        self._close()

    def before_val_epoch(self, runner) -> None:
        self._train_bar, self._bar = self._bar, None  # validation mid-run
        self._open(len(runner.val_dataloader), 'val')

    def after_val_iter(self, runner, batch_idx, data_batch=None,
                       outputs=None) -> None:
        self._step()

    def after_val_epoch(self, runner, metrics=None) -> None:
        self._close()
        self._bar, self._train_bar = self._train_bar, None

    def before_test_epoch(self, runner) -> None:
        self._open(len(runner.test_dataloader), 'test')

    def after_test_iter(self, runner, batch_idx, data_batch=None,
                        outputs=None) -> None:
        self._step()

    def after_test_epoch(self, runner, metrics=None) -> None:
        self._close()
