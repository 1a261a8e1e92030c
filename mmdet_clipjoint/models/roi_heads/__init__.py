# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
from .bbox_heads import ClipJointBBoxHead
from .clipjoint_roi_head import ClipJointRoIHead

__all__ = ['ClipJointBBoxHead', 'ClipJointRoIHead']
