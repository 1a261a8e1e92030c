# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
from .hooks import ClipJointHook

__all__ = ['ClipJointHook']
