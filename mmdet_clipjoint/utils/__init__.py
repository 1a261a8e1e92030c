# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
from .checkpoint_match import (ALLOW_PARTIAL_ENV, CheckpointMismatchError,
                               allow_partial_checkpoint,
                               check_checkpoint_coverage, checkpoint_coverage,
                               register_checkpoint_match_check)
from .config_dicts import iter_config_dicts
from .config_files import PACKAGE_CONFIGS, config_file, load_config
from .data_files import MissingDataFileError, register_missing_data_hint
from .safe_checkpoint import (checkpoint_safe_globals,
                              register_checkpoint_safe_globals)
from .small_config import shrink_config

__all__ = [
    'checkpoint_safe_globals', 'register_checkpoint_safe_globals',
    'shrink_config', 'ALLOW_PARTIAL_ENV', 'CheckpointMismatchError',
    'allow_partial_checkpoint', 'check_checkpoint_coverage',
    'checkpoint_coverage', 'register_checkpoint_match_check',
    'MissingDataFileError', 'register_missing_data_hint', 'iter_config_dicts',
    'PACKAGE_CONFIGS', 'config_file', 'load_config'
]
