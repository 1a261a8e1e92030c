# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
from .atomic_checkpoint_hook import AtomicCheckpointHook
from .clipjoint_hook import ClipJointHook, check_class_names
from .progress_bar_hook import ProgressBarHook
from .rng_state_hook import RNGStateHook, get_rng_state, set_rng_state

__all__ = [
    'ClipJointHook', 'check_class_names', 'AtomicCheckpointHook',
    'RNGStateHook', 'get_rng_state', 'set_rng_state', 'ProgressBarHook'
]
