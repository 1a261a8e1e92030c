# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
from .comparison import draw_comparison, draw_panel

__all__ = ['draw_comparison', 'draw_panel']
