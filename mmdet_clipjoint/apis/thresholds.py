# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Drawing thresholds that suit a ClipJoint detector's scores.

mmdet draws boxes scoring at least 0.3 (``DetInferencer``'s
``pred_score_thr``). That suits the detector's own (``det``) scores, but
the contrastive branch's softmax spreads its probability over the C + 1
entries of the text bank, so ``clip`` and ``fuse`` scores run lower, and the
more class names, the lower: after ``set_vocabulary(model, 'lvis')`` (1203
names) a 0.1 threshold can hide every box.

:func:`default_score_thr` gives 0.3 for ``det``, 0.2 for ``fuse`` and 0.1
for ``clip`` up to :data:`REFERENCE_NUM_CLASSES` class names, and for larger
vocabularies lowers the ``clip`` / ``fuse`` thresholds as ``1 / sqrt(C)``
(Objects365, 365 names: clip 0.047; LVIS, 1203 names: clip 0.026). The
chance level of the softmax falls as ``1 / (C + 1)``; the square root is a
middle way between keeping the threshold and following chance, a rule of
thumb rather than a measured optimum: when no box passes,
:func:`~mmdet_clipjoint.apis.report_unshown` says so with the best score.
"""
import math
from typing import Optional, Tuple, Union

import torch

__all__ = [
    'DEFAULT_SCORE_THR', 'REFERENCE_NUM_CLASSES', 'default_score_thr',
    'score_mode_of'
]

#: drawing threshold of each score mode, up to REFERENCE_NUM_CLASSES names
DEFAULT_SCORE_THR = dict(det=0.3, fuse=0.2, clip=0.1)
#: vocabularies up to this size keep DEFAULT_SCORE_THR (COCO's 80)
REFERENCE_NUM_CLASSES = 80


def _detector(model) -> torch.nn.Module:
    return getattr(model, 'model', model)  # a DetInferencer's model


def score_mode_of(model) -> Tuple[str, Optional[int]]:
    """The score mode of a detector's ClipJoint heads and the number of
    class names they score.

    Args:
        model: A detector or a ``DetInferencer``.

    Returns:
        tuple: (``'det'`` | ``'clip'`` | ``'fuse'``, number of classes).
        A detector without ClipJoint heads gives ``'det'`` and the length
        of ``dataset_meta['classes']`` (None when unknown).
    """
    from ..models.layers import ScoreModeMixin
    det = _detector(model)
    heads = [m for m in det.modules() if isinstance(m, ScoreModeMixin)]
    if heads:
        return heads[0].score_mode, int(heads[0].text_bank.num_classes)
    classes = (getattr(det, 'dataset_meta', None) or {}).get('classes')
    return 'det', len(classes) if classes else None


def default_score_thr(model_or_mode: Union[str, torch.nn.Module, object],
                      num_classes: Optional[int] = None) -> float:
    """The drawing threshold that suits a score mode and vocabulary size.

    Args:
        model_or_mode: A score mode (``'det'``, ``'clip'``, ``'fuse'``), a
            detector or a ``DetInferencer`` (its heads' mode and class
            count are read).
        num_classes (int, optional): The number of class names scored (with
            a mode; default: :data:`REFERENCE_NUM_CLASSES`).

    Returns:
        float: ``DEFAULT_SCORE_THR[mode]``, times
        ``sqrt(REFERENCE_NUM_CLASSES / num_classes)`` for ``clip`` / ``fuse``
        with more than :data:`REFERENCE_NUM_CLASSES` names, rounded to 3
        decimals.

    Example:
        >>> default_score_thr('clip', 1203)  # LVIS
        0.026
        >>> default_score_thr(inferencer)    # after set_vocabulary(...)
    """
    if isinstance(model_or_mode, str):
        mode = model_or_mode
    else:
        mode, n = score_mode_of(model_or_mode)
        num_classes = n if num_classes is None else num_classes
    if mode not in DEFAULT_SCORE_THR:
        raise ValueError(f'score mode {mode!r}: choose one of '
                         f'{tuple(DEFAULT_SCORE_THR)}.')
    thr = DEFAULT_SCORE_THR[mode]
    if mode != 'det' and num_classes and num_classes > REFERENCE_NUM_CLASSES:
        thr *= math.sqrt(REFERENCE_NUM_CLASSES / num_classes)
    return round(thr, 3)
