# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
from .assigners import YOLO11TaskAlignedAssigner

__all__ = ['YOLO11TaskAlignedAssigner']
