# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
from .layers import ContrastiveTextBank
from .losses import InfoNCELoss
from .roi_heads import ClipJointBBoxHead, ClipJointRoIHead
from .dense_heads import ClipJointYOLOHead, ClipJointYOLOXHead

__all__ = [
    'ContrastiveTextBank', 'InfoNCELoss', 'ClipJointBBoxHead',
    'ClipJointRoIHead', 'ClipJointYOLOHead', 'ClipJointYOLOXHead'
]
