# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
from .yolo11_assigner import YOLO11TaskAlignedAssigner

__all__ = ['YOLO11TaskAlignedAssigner']
