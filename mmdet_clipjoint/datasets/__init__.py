# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
from .checks import check_coco_annotation_file
from .synthetic import (SYNTHETIC_CLASSES, SYNTHETIC_CLASSES_B,
                        SYNTHETIC_COLORS, SYNTHETIC_CONFUSABLE,
                        SYNTHETIC_CONFUSABLE_B, SYNTHETIC_SHAPES,
                        SYNTHETIC_SOURCE_CLASSES, SYNTHETIC_VOCABULARIES,
                        make_synthetic_dataset)
from .wrappers import (AnnotationStressWrapper, LongTailDataset,
                       NoisyLabelDataset)

__all__ = [
    'SYNTHETIC_CLASSES', 'SYNTHETIC_CLASSES_B', 'SYNTHETIC_COLORS',
    'SYNTHETIC_CONFUSABLE', 'SYNTHETIC_CONFUSABLE_B', 'SYNTHETIC_SHAPES',
    'SYNTHETIC_SOURCE_CLASSES', 'SYNTHETIC_VOCABULARIES',
    'make_synthetic_dataset', 'AnnotationStressWrapper',
    'LongTailDataset', 'NoisyLabelDataset', 'check_coco_annotation_file'
]
