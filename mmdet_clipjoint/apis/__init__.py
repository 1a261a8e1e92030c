# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""User-facing inference helpers on top of :mod:`mmdet.apis`."""
from .inputs import (IMG_EXTENSIONS, build_inferencer, check_image_file,
                     check_image_input)
from .predictions import (finish_predictions, name_prediction_labels,
                          report_unshown)
from .thresholds import DEFAULT_SCORE_THR, default_score_thr, score_mode_of
from .vocabulary import read_class_names, set_vocabulary, text_embeddings_for

__all__ = [
    'set_vocabulary', 'text_embeddings_for', 'read_class_names',
    'name_prediction_labels', 'report_unshown', 'DEFAULT_SCORE_THR',
    'default_score_thr', 'score_mode_of', 'IMG_EXTENSIONS',
    'check_image_input', 'check_image_file', 'build_inferencer',
    'finish_predictions'
]
