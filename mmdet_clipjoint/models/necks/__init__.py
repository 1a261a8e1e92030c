# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
from .yolo11_pafpn import YOLO11PAFPN

__all__ = ['YOLO11PAFPN']
