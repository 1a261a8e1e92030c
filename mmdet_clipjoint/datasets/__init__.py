# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
from .synthetic import (SYNTHETIC_CLASSES, SYNTHETIC_COLORS,
                        SYNTHETIC_CONFUSABLE, SYNTHETIC_SHAPES,
                        make_synthetic_dataset)
from .wrappers import (AnnotationStressWrapper, LongTailDataset,
                       NoisyLabelDataset)

__all__ = [
    'SYNTHETIC_CLASSES', 'SYNTHETIC_COLORS', 'SYNTHETIC_CONFUSABLE',
    'SYNTHETIC_SHAPES', 'make_synthetic_dataset', 'AnnotationStressWrapper',
    'LongTailDataset', 'NoisyLabelDataset'
]
