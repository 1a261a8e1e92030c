# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
from .clipjoint_dense_mixin import ClipJointDenseMixin
from .clipjoint_rtmdet_head import ClipJointRTMDetHead
from .clipjoint_yolo_head import ClipJointYOLOHead
from .clipjoint_yolox_head import ClipJointYOLOXHead
from .yolo11_head import YOLO11Head

__all__ = [
    'ClipJointDenseMixin', 'ClipJointRTMDetHead', 'ClipJointYOLOHead',
    'ClipJointYOLOXHead', 'YOLO11Head'
]
