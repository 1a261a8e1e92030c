# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""A CheckpointHook whose saves survive a crash, and whose auto-resume
never picks an incomplete file."""
import glob
import logging
import os
import os.path as osp

from mmengine.dist import barrier, is_main_process
from mmengine.fileio.backends import LocalBackend
from mmengine.hooks import CheckpointHook
from mmengine.logging import print_log
from mmengine.runner import find_latest_checkpoint

from mmdet.registry import HOOKS
from ...utils.checkpoint_files import (TMP_SUFFIX, atomic_replace,
                                       atomic_write_text, checkpoint_problem,
                                       find_latest_complete_checkpoint)

__all__ = ['AtomicCheckpointHook']


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """``CheckpointHook`` that never leaves a partial checkpoint behind.

    A drop-in replacement (same arguments)::

        default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook'))

    Differences from mmengine's hook, for local ``out_dir`` s (other storage
    backends fall back to the stock behaviour):

    * each checkpoint is written to ``<name>.tmp``, flushed to disk, then
      renamed to ``<name>`` (``os.replace`` is atomic), and only then is
      ``last_checkpoint`` updated -- also atomically. A process killed
      mid-save leaves the previous checkpoint and pointer intact;
    * checkpoints beyond ``max_keep_ckpts`` are deleted *after* the new one
      is complete (mmengine deletes first, so with ``max_keep_ckpts=1`` a
      crash while saving left no checkpoint at all);
    * auto-resume (``resume=True`` without ``load_from``) checks the file
      ``last_checkpoint`` points at; if it is missing, truncated or
      unreadable, the newest complete checkpoint of the work dir is resumed
      instead (``last_checkpoint`` is repointed to it, with a warning naming
      what was skipped); if there is none, a clear error says what to do.
      The run's ``resume`` / ``load_from`` are read from ``runner.cfg``;
    * leftover ``*.tmp`` files of an interrupted save are removed when
      training starts.

    ``best_*.pth`` checkpoints (``save_best``) are written by mmengine as
    usual; they are never used to resume.

    Args:
        fsync (bool): Flush checkpoints to disk before renaming them.
            Defaults to True.
        **kwargs: Arguments of :class:`mmengine.hooks.CheckpointHook`.
    """

    def __init__(self, *args, fsync: bool = True, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fsync = fsync

    # ------------------------------------------------------------- resume
    def before_run(self, runner) -> None:
        """Point auto-resume at the newest complete checkpoint."""
        super().before_run(runner)
        # as Runner.load_or_resume decides it, from the run's config (a
        # runner built without its config does not auto-resume here)
        cfg = runner.cfg
        if not cfg.get('resume', False) or cfg.get('load_from') is not None:
            return
        pointer = osp.join(runner.work_dir, 'last_checkpoint')
        if not osp.isfile(pointer):
            return  # nothing saved yet: mmengine starts from scratch
        latest = find_latest_checkpoint(runner.work_dir)
        problem = checkpoint_problem(latest)
        if problem is None:
            return
        directory = osp.dirname(latest) if latest else runner.work_dir
        if not osp.isdir(directory):
            directory = runner.work_dir
        tmpls = (self.filename_tmpl, 'iter_{}.pth', 'epoch_{}.pth')
        found, skipped = find_latest_complete_checkpoint(
            directory, tuple(dict.fromkeys(tmpls)))
        if found is None:
            raise RuntimeError(
                f'Cannot resume: {pointer} names {latest!r}, which cannot be '
                f'used ({problem}), and {directory} holds no other complete '
                f'checkpoint (tried {[p for p, _ in skipped]}). Resume from '
                'a checkpoint elsewhere with `--resume <file>` (cfg.resume='
                'True, cfg.load_from=<file>), or delete '
                f'{pointer} to start training from scratch.')
        # mmengine's auto-resume follows the pointer: repoint it (the main
        # process writes, atomically; the others wait for it)
        if is_main_process():
            atomic_write_text(pointer, found, fsync=self.fsync)
        barrier()
        print_log(
            f'AtomicCheckpointHook: {latest!r} from {pointer} cannot be '
            f'resumed ({problem}); skipped '
            f'{[(osp.basename(p), why) for p, why in skipped]}; resuming '
            f'from the newest complete checkpoint {found} ({pointer} now '
            'names it).',
            logger='current', level=logging.WARNING)

    def before_train(self, runner) -> None:
        super().before_train(runner)
        if not self._atomic or not is_main_process():
            return
        stale = glob.glob(
            osp.join(self.out_dir,
                     glob.escape(self.filename_tmpl).replace(
                         glob.escape('{}'), '*') + TMP_SUFFIX))
        for path in stale:
            os.remove(path)
            print_log(f'AtomicCheckpointHook: removed {path} left by an '
                      'interrupted save.', logger='current')

    # --------------------------------------------------------------- save
    @property
    def _atomic(self) -> bool:
        return isinstance(getattr(self, 'file_backend', None), LocalBackend)

    def _remove_checkpoint(self, step: int) -> None:
        path = self.file_backend.join_path(self.out_dir,
                                           self.filename_tmpl.format(step))
        if self.file_backend.isfile(path):
            self.file_backend.remove(path)
        elif self.file_backend.isdir(path):
            self.file_backend.rmtree(path)

    def _save_checkpoint_with_step(self, runner, step, meta):
        if not self._atomic:
            return super()._save_checkpoint_with_step(runner, step, meta)
        outdated = []
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids and
                                            self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                outdated.append(self.keep_ckpt_ids.popleft())
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids',
                                           list(self.keep_ckpt_ids))

        ckpt_filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir,
                                                     ckpt_filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        # Runner.save_checkpoint writes on the main process only
        runner.save_checkpoint(
            self.out_dir,
            ckpt_filename + TMP_SUFFIX,
            self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            backend_args=self.backend_args,
            **self.args)
        if not is_main_process():
            return
        atomic_replace(self.last_ckpt + TMP_SUFFIX, self.last_ckpt,
                       fsync=self.fsync)
        atomic_write_text(
            osp.join(runner.work_dir, 'last_checkpoint'), self.last_ckpt,
            fsync=self.fsync)
        for old in outdated:
            self._remove_checkpoint(old)
