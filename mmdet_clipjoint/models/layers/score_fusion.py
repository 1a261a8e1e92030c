# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Inference-time rules that combine detector and contrastive scores."""
import torch
from torch import Tensor

__all__ = ['SCORE_MODES', 'check_score_mode', 'fuse_probs']

#: ``det``: the detector's own scores (the branch is skipped entirely);
#: ``clip``: the contrastive branch's probabilities only;
#: ``fuse``: geometric mean ``p_det^(1 - a) * p_clip^a`` (ViLD's ensemble).
SCORE_MODES = ('det', 'clip', 'fuse')


def check_score_mode(score_mode: str, fuse_alpha: float) -> None:
    """Raise a clear error for an unknown mode or an alpha outside [0, 1]."""
    if score_mode not in SCORE_MODES:
        raise ValueError(f'score_mode={score_mode!r} is unknown; choose one '
                         f'of {SCORE_MODES}.')
    if not 0.0 <= fuse_alpha <= 1.0:
        raise ValueError(f'fuse_alpha={fuse_alpha} must lie in [0, 1] (the '
                         'weight of the contrastive scores in fuse mode).')


def fuse_probs(det: Tensor, clip: Tensor, score_mode: str,
               alpha: float) -> Tensor:
    """Combine two probability tensors of the same shape.

    Args:
        det (Tensor): Detector probabilities, shape (N, K).
        clip (Tensor): Contrastive probabilities, shape (N, K).
        score_mode (str): One of :data:`SCORE_MODES`.
        alpha (float): Weight of ``clip`` in ``fuse`` mode.

    Returns:
        Tensor: probabilities of shape (N, K).
    """
    if score_mode == 'det':
        return det
    if score_mode == 'clip':
        return clip
    eps = torch.finfo(det.dtype).tiny
    return det.clamp(min=eps).pow(1.0 - alpha) * clip.clamp(min=eps).pow(
        alpha)
