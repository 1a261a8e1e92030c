# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Save the random-number generators' states in checkpoints; restore them on
resume, so that a resumed run repeats an uninterrupted one exactly."""
import logging
import random
from typing import Any, Dict, Iterator, List, Optional

import numpy as np
import torch
from mmengine.dist import all_gather_object, get_dist_info
from mmengine.hooks import CheckpointHook, Hook
from mmengine.logging import print_log

from mmdet.registry import HOOKS

__all__ = ['RNGStateHook', 'get_rng_state', 'set_rng_state']

#: key of the states in a runner checkpoint
CKPT_KEY = 'rng_state'

RNGState = Dict[str, Any]


def get_rng_state() -> RNGState:
    """The current states of python's, numpy's and torch's global RNGs.

    Everything is stored as tensors, ints, floats and strings, so that a
    checkpoint holding it still loads with ``torch.load(weights_only=True)``.

    Returns:
        dict: ``python`` (int64 tensor of the 625 Mersenne-Twister words),
        ``python_gauss``, ``numpy`` (int64 tensor (624,)), ``numpy_pos``,
        ``numpy_has_gauss``, ``numpy_gauss``, ``torch`` (uint8 tensor) and,
        when CUDA is in use, ``cuda`` (the current device's state).
    """
    py_version, py_words, py_gauss = random.getstate()
    np_kind, np_keys, np_pos, np_has_gauss, np_gauss = np.random.get_state()
    state = dict(
        python_version=int(py_version),
        python=torch.tensor(py_words, dtype=torch.int64),
        python_gauss=py_gauss,
        numpy_kind=str(np_kind),
        numpy=torch.from_numpy(np_keys.astype(np.int64)),
        numpy_pos=int(np_pos),
        numpy_has_gauss=int(np_has_gauss),
        numpy_gauss=float(np_gauss),
        torch=torch.get_rng_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        # only the current device: get_rng_state_all() would create a CUDA
        # context on every GPU in every process
        state['cuda'] = torch.cuda.get_rng_state()
    return state


def set_rng_state(state: RNGState) -> None:
    """Restore the states returned by :func:`get_rng_state`.

    The tensors may live on any device (``Runner.resume`` maps checkpoints
    to the training device).
    """
    random.setstate((state['python_version'],
                     tuple(int(x) for x in state['python'].cpu().tolist()),
                     state['python_gauss']))
    np.random.set_state(
        (state['numpy_kind'], state['numpy'].cpu().numpy().astype(np.uint32),
         state['numpy_pos'], state['numpy_has_gauss'],
         state['numpy_gauss']))
    torch.set_rng_state(state['torch'].cpu())
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(state['cuda'].cpu())


class _RNGNeutralSkip:
    """Wrap a data iterator so that its next ``n`` items leave the RNGs as
    they were (the items a resumed run skips were drawn before the
    checkpoint, whose RNG states already account for them)."""

    def __init__(self, iterator: Iterator, n: int) -> None:
        self._iterator = iterator
        self._skip = n

    def __iter__(self):
        return self

    def __next__(self):
        if self._skip <= 0:
            return next(self._iterator)
        state = get_rng_state()
        try:
            return next(self._iterator)
        finally:
            set_rng_state(state)
            self._skip -= 1

    def __getattr__(self, name: str) -> Any:
        return getattr(self._iterator, name)


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Make resumed training repeat the uninterrupted run exactly.

    mmengine restores the seed on resume but not the generators' *states*,
    so every random draw after a resume (RoI sampling, random flips, ...)
    differs from the run that was not interrupted. This hook

    * records python / numpy / torch (and current-CUDA-device) RNG states at
      the end of every training iteration and epoch and writes them into
      every checkpoint (``checkpoint['rng_state']``, weights-only loadable);
      in distributed runs the states of all ranks are gathered whenever a
      :class:`~mmengine.hooks.CheckpointHook` is about to save, so that each
      rank gets its own back;
    * on resume, restores them when training continues, and makes the
      batches that mmengine's ``IterBasedTrainLoop`` re-reads to skip the
      consumed data (whose augmentations draw random numbers) leave the
      RNGs untouched;
    * makes validation during training RNG-neutral (states saved in
      ``before_val``, restored in ``after_val``), so that evaluating more or
      less often does not change the training trajectory.

    With ``load_from`` and ``resume=False`` (fine-tuning) nothing is
    restored.

    Not covered: state kept inside data transforms -- e.g. the image caches
    of RTMDet's ``CachedMosaic`` / ``CachedMixUp``, which start empty after
    a resume, so a resumed RTMDet stage-1 pipeline sees other mosaics (its
    stage-2 pipeline, YOLOX's ``Mosaic`` and Faster R-CNN's resume exactly);
    random draws made in ``before_train_epoch`` by hooks that run before
    this one (none among the mmengine / mmdet defaults). Dataloader worker
    processes are re-seeded by mmengine every epoch, and the skipped
    batches are re-read, so they replay the same draws.

    Args:
        restore (bool): Restore states on resume. Set False to only record
            them. Defaults to True.
    """

    # after the default hooks that step schedulers / log (NORMAL..LOW) and
    # before CheckpointHook (VERY_LOW), which saves in after_train_iter
    priority = 'LOW'

    def __init__(self, restore: bool = True) -> None:
        self.restore = restore
        self._local: Optional[RNGState] = None
        self._ranks: Optional[List[RNGState]] = None
        self._pending: Optional[Dict] = None
        self._val_state: Optional[RNGState] = None

    # ------------------------------------------------------------ record
    @staticmethod
    def _checkpoint_due(runner, by_epoch: bool) -> bool:
        """Whether a CheckpointHook saves at the end of this iter/epoch."""
        for hook in runner.hooks:
            if not isinstance(hook, CheckpointHook) or \
                    hook.by_epoch != by_epoch:
                continue
            if by_epoch:
                due = hook.every_n_epochs(runner, hook.interval,
                                          hook.save_begin) or (
                                              hook.save_last and
                                              hook.is_last_train_epoch(runner))
            else:
                due = hook.every_n_train_iters(
                    runner, hook.interval, hook.save_begin) or (
                        hook.save_last and hook.is_last_train_iter(runner))
            if due:
                return True
        return False

    def _record(self, runner, by_epoch: bool) -> None:
        self._local = get_rng_state()
        _, world_size = get_dist_info()
        if world_size == 1:
            self._ranks = [self._local]
        elif self._checkpoint_due(runner, by_epoch):
            # a collective: every rank evaluates the same condition
            self._ranks = all_gather_object(self._local)
        else:
            self._ranks = None

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        self._record(runner, by_epoch=False)

    def after_train_epoch(self, runner) -> None:
        self._record(runner, by_epoch=True)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if self._local is None:  # saved before the first iteration
            return
        _, world_size = get_dist_info()
        ranks = self._ranks if self._ranks is not None else [self._local]
        checkpoint[CKPT_KEY] = dict(world_size=world_size, ranks=ranks)

    # --------------------------------------------------------- validation
    def before_val(self, runner) -> None:
        self._val_state = get_rng_state()

    def after_val(self, runner) -> None:
        if self._val_state is not None:
            set_rng_state(self._val_state)
            self._val_state = None

    # ------------------------------------------------------------ restore
    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        self._pending = checkpoint.get(CKPT_KEY) if self.restore else None

    def before_train_epoch(self, runner) -> None:
        saved, self._pending = self._pending, None
        loop = runner.train_loop
        if saved is None or (loop.iter == 0 and loop.epoch == 0):
            return  # a fresh start, or load_from without resume
        rank, world_size = get_dist_info()
        ranks = saved.get('ranks') or []
        if saved.get('world_size') != world_size or len(ranks) != world_size:
            print_log(
                f'RNGStateHook: the checkpoint holds RNG states of '
                f'{len(ranks)} of {saved.get("world_size")} ranks, this run '
                f'has {world_size}; the RNG states are not restored, so '
                'random draws will differ from an uninterrupted run.',
                logger='current', level=logging.WARNING)
            return
        set_rng_state(ranks[rank])
        iterator = getattr(loop, 'dataloader_iterator', None)
        if iterator is not None and loop.iter > 0:
            # IterBasedTrainLoop re-reads `iter` batches right after this
            loop.dataloader_iterator = _RNGNeutralSkip(iterator, loop.iter)
        print_log(
            f'RNGStateHook: restored the RNG states saved at iter '
            f'{loop.iter}.', logger='current')
