# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
from .synthetic import (SYNTHETIC_CLASSES, SYNTHETIC_COLORS, SYNTHETIC_SHAPES,
                        make_synthetic_dataset)

__all__ = [
    'SYNTHETIC_CLASSES', 'SYNTHETIC_COLORS', 'SYNTHETIC_SHAPES',
    'make_synthetic_dataset'
]
