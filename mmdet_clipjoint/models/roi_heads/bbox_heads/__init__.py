# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
from .clipjoint_bbox_head import ClipJointBBoxHead

__all__ = ['ClipJointBBoxHead']
