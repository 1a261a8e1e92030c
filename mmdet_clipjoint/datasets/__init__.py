# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
from .caption_dataset import CaptionPhraseDataset, extract_phrases
from .checks import check_coco_annotation_file
from .class_counts import dataset_class_counts
from .grounding_dataset import (GroundingPhraseDataset, match_phrase,
                                phrase_class_index)
from .semantic import (ALPHA_THRESHOLD, COCO_EMOJI, DISTRACTOR_EMOJI,
                       EMOJI_FONT_ENV, MAX_COVERED,
                       SEMANTIC_GENERATOR_VERSION, SOURCE_EMOJI, EmojiArt,
                       find_emoji_font, make_semantic_dataset, render_object,
                       semantic_grounding_record)
from .synonyms import LVIS_SYNONYMS, class_phrases, readable_name
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
    'CaptionPhraseDataset', 'check_coco_annotation_file',
    'dataset_class_counts', 'extract_phrases',
    'ALPHA_THRESHOLD', 'COCO_EMOJI', 'DISTRACTOR_EMOJI', 'EMOJI_FONT_ENV',
    'SOURCE_EMOJI', 'EmojiArt', 'find_emoji_font', 'make_semantic_dataset',
    'render_object', 'MAX_COVERED', 'SEMANTIC_GENERATOR_VERSION',
    'semantic_grounding_record', 'GroundingPhraseDataset', 'match_phrase',
    'phrase_class_index', 'LVIS_SYNONYMS', 'class_phrases', 'readable_name'
]
