# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
from .clip_text import (DEFAULT_TEMPLATES, ENSEMBLE_TEMPLATES,
                        build_clip_model, encode_class_names,
                        load_embeddings_file, save_embeddings_file)
from .captions import build_word_region_loss, caption_phrase_batch
from .grounding import (SAMPLE_KINDS, grounding_detection_samples,
                        grounding_phrase_targets, sample_kind)
from .dist import all_gather_with_grad, reduce_mean_factor
from .vocabularies import (load_vocabulary, names_in_no_vocabulary,
                           vocabulary_embeddings, vocabulary_names,
                           vocabulary_word_rows)
from .yolo11_convert import convert_yolo11_state_dict, yolo11_arch_of

__all__ = [
    'DEFAULT_TEMPLATES', 'ENSEMBLE_TEMPLATES', 'build_clip_model',
    'encode_class_names', 'load_embeddings_file', 'save_embeddings_file',
    'all_gather_with_grad', 'reduce_mean_factor', 'convert_yolo11_state_dict', 'yolo11_arch_of',
    'load_vocabulary', 'vocabulary_embeddings', 'vocabulary_names',
    'names_in_no_vocabulary', 'vocabulary_word_rows',
    'build_word_region_loss', 'caption_phrase_batch', 'SAMPLE_KINDS',
    'sample_kind', 'grounding_detection_samples', 'grounding_phrase_targets'
]
