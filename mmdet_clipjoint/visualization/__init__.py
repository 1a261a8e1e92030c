# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
from .comparison import (best_f1_threshold, describe_setting,
                         draw_comparison, draw_panel,
                         draw_prediction_sheet, select_boxes)
from .semantic_sheets import (draw_class_sheet, draw_example_strip,
                              plot_rare_vs_neighbour)

__all__ = [
    'draw_comparison', 'draw_panel', 'best_f1_threshold', 'select_boxes',
    'describe_setting', 'draw_class_sheet', 'draw_example_strip',
    'plot_rare_vs_neighbour', 'draw_prediction_sheet'
]
