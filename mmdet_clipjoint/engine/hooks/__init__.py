# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
from .atomic_checkpoint_hook import AtomicCheckpointHook
from .progress_bar_hook import ProgressBarHook
from .rng_state_hook import RNGStateHook, get_rng_state, set_rng_state
from .text_bank_init_hook import (ClipJointHook, TextBankInitHook,
                                  check_class_names)

__all__ = [
    'TextBankInitHook', 'ClipJointHook', 'check_class_names',
    'AtomicCheckpointHook', 'RNGStateHook', 'get_rng_state', 'set_rng_state',
    'ProgressBarHook'
]
