# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
from .clipjoint_hook import ClipJointHook, check_class_names

__all__ = ['ClipJointHook', 'check_class_names']
