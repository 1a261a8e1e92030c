# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
from .comparison import draw_comparison, draw_panel
from .semantic_sheets import (draw_class_sheet, draw_example_strip,
                              plot_rare_vs_neighbour)

__all__ = [
    'draw_comparison', 'draw_panel', 'draw_class_sheet', 'draw_example_strip',
    'plot_rare_vs_neighbour'
]
