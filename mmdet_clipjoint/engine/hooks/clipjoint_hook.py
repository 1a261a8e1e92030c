# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Checks and set-up of ClipJoint text banks when a run starts."""
import os.path as osp
from typing import List, Optional

import torch
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.runner import BaseLoop, find_latest_checkpoint

from mmdet.registry import HOOKS
from ...models.layers import ContrastiveTextBank

__all__ = ['ClipJointHook', 'check_class_names']


def check_class_names(bank_names, dataset_names, where: str) -> None:
    """Raise a clear error when the bank's classes differ from a dataset's.

    Args:
        bank_names: Class names of the text bank (config order).
        dataset_names: ``dataset.metainfo['classes']``.
        where: Which dataset, for the message.
    """
    bank_names, dataset_names = list(bank_names), list(dataset_names)
    if bank_names == dataset_names:
        return
    if len(bank_names) != len(dataset_names):
        raise ValueError(
            f'The ContrastiveTextBank has {len(bank_names)} classes but the '
            f'{where} dataset has {len(dataset_names)} '
            f'({dataset_names[:6]}...). Set the text bank\'s `class_names` '
            '(and the head\'s `num_classes`) to the dataset\'s '
            '`metainfo[\'classes\']`.')
    diff = [(i, b, d) for i, (b, d) in enumerate(zip(bank_names,
                                                     dataset_names))
            if b != d][:5]
    raise ValueError(
        f'The ContrastiveTextBank\'s class names differ from the {where} '
        f'dataset\'s (first differences as (index, bank, dataset): {diff}). '
        'Embedding i must describe class i: give the bank the same names in '
        'the same order as the dataset\'s `metainfo[\'classes\']`.')


@HOOKS.register_module()
class ClipJointHook(Hook):
    """Validate text banks against the data and avoid needless CLIP loads.

    ``before_run`` (before the runner initialises the weights):

    * checks every :class:`ContrastiveTextBank`'s ``class_names`` against
      ``metainfo['classes']`` of each dataset the run uses (count and order);
    * when the run resumes from a checkpoint, or ``load_from`` points at a
      checkpoint that already holds the text bank, skips the CLIP encoding
      in ``init_weights`` (the checkpoint overwrites it anyway), so resuming
      needs no CLIP weights and no network.

    Args:
        check_classes (bool): Do the class-name check. Defaults to True.
    """

    priority = 'VERY_HIGH'

    def __init__(self, check_classes: bool = True) -> None:
        self.check_classes = check_classes

    @staticmethod
    def _banks(runner) -> List[ContrastiveTextBank]:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        return [m for m in model.modules()
                if isinstance(m, ContrastiveTextBank)]

    @staticmethod
    def _checkpoint_has_bank(path: str) -> bool:
        if not osp.isfile(path):
            return False  # URLs etc.: let init_weights do its normal job
        try:
            ckpt = torch.load(path, map_location='cpu', mmap=True,
                              weights_only=True)
        except Exception:
            return False
        state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) \
            else {}
        return any(k.endswith('text_bank.embeddings') for k in state)

    def _checkpoint_to_load(self, runner) -> Optional[str]:
        if runner._resume and runner._load_from is None:
            return find_latest_checkpoint(runner.work_dir)
        return runner._load_from

    def before_run(self, runner) -> None:
        banks = self._banks(runner)
        if not banks:
            return
        if self.check_classes:
            for name in ('_train_loop', '_val_loop', '_test_loop'):
                loop = getattr(runner, name, None)
                if not isinstance(loop, BaseLoop):
                    continue
                meta = getattr(loop.dataloader.dataset, 'metainfo', {}) or {}
                if 'classes' not in meta:
                    continue
                for bank in banks:
                    check_class_names(bank.class_names, meta['classes'],
                                      name.strip('_').replace('_loop', ''))
        ckpt = self._checkpoint_to_load(runner)
        if ckpt is not None and (runner._resume
                                 or self._checkpoint_has_bank(ckpt)):
            for bank in banks:
                bank.skip_text_init = True
            print_log(
                f'ClipJointHook: text bank will come from {ckpt}; '
                'skipping its CLIP initialisation.', logger='current')
