# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
from .grad_share import BRANCH_LOSSES, branch_grad_share
from .safe_checkpoint import (checkpoint_safe_globals,
                              register_checkpoint_safe_globals)
from .small_config import shrink_config
from .stats import format_paired, paired_diff, t_quantile

__all__ = [
    'BRANCH_LOSSES', 'branch_grad_share', 'checkpoint_safe_globals',
    'register_checkpoint_safe_globals', 'shrink_config', 'paired_diff',
    'format_paired', 't_quantile'
]
