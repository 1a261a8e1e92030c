# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
from .hooks import AtomicCheckpointHook, ClipJointHook, RNGStateHook

__all__ = ['ClipJointHook', 'AtomicCheckpointHook', 'RNGStateHook']
