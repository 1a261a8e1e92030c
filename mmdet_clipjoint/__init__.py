# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""CLIP-Joint-Detect for MMDetection 3.x.

``import mmdet_clipjoint`` registers every module of the package in mmdet's
registries (``mmdet.registry.MODELS`` / ``HOOKS``), lets mmengine load its
runner checkpoints under torch >= 2.6 (see :mod:`.utils.safe_checkpoint`),
refuses to evaluate or run a model with another model's checkpoint
(:mod:`.utils.checkpoint_match`) and names a missing COCO annotation file
with the expected data layout (:mod:`.utils.data_files`).
Configs load it with::

    custom_imports = dict(imports=['mmdet_clipjoint'],
                          allow_failed_imports=False)
"""
from .utils import (register_checkpoint_match_check,
                    register_checkpoint_safe_globals,
                    register_missing_data_hint)
from .version import __version__

register_checkpoint_safe_globals()
register_checkpoint_match_check()
register_missing_data_hint()

from . import datasets, engine, models  # noqa: E402  (registers modules)

__all__ = ['__version__', 'datasets', 'engine', 'models']
