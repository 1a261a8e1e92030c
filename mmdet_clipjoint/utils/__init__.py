# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
from .safe_checkpoint import (checkpoint_safe_globals,
                              register_checkpoint_safe_globals)
from .small_config import shrink_config

__all__ = [
    'checkpoint_safe_globals', 'register_checkpoint_safe_globals',
    'shrink_config'
]
