# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
from .caption_dataset import CaptionPhraseDataset, extract_phrases
from .checks import check_coco_annotation_file
from .synthetic import (SYNTHETIC_CLASSES, SYNTHETIC_CLASSES_B,
                        SYNTHETIC_COLORS, SYNTHETIC_CONFUSABLE,
                        SYNTHETIC_CONFUSABLE_B, SYNTHETIC_OPEN_VOCAB_CLASSES,
                        SYNTHETIC_OPEN_VOCAB_UNSEEN, SYNTHETIC_SHAPES,
                        SYNTHETIC_SOURCE_CLASSES, SYNTHETIC_VOCABULARIES,
                        make_synthetic_caption_dataset,
                        make_synthetic_dataset)
from .wrappers import (AnnotationStressWrapper, LongTailDataset,
                       NoisyLabelDataset)

__all__ = [
    'SYNTHETIC_CLASSES', 'SYNTHETIC_CLASSES_B', 'SYNTHETIC_COLORS',
    'SYNTHETIC_CONFUSABLE', 'SYNTHETIC_CONFUSABLE_B',
    'SYNTHETIC_OPEN_VOCAB_CLASSES', 'SYNTHETIC_OPEN_VOCAB_UNSEEN',
    'SYNTHETIC_SHAPES', 'SYNTHETIC_SOURCE_CLASSES', 'SYNTHETIC_VOCABULARIES',
    'make_synthetic_dataset', 'make_synthetic_caption_dataset',
    'AnnotationStressWrapper', 'LongTailDataset', 'NoisyLabelDataset',
    'CaptionPhraseDataset', 'check_coco_annotation_file', 'extract_phrases'
]
