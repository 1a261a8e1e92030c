# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Inference-time rules that combine detector and contrastive scores."""
from typing import List, Optional

import torch
from torch import Tensor

__all__ = [
    'SCORE_MODES', 'check_score_mode', 'check_objectness_power',
    'check_fuse_frequency_power', 'fuse_probs', 'frequency_fuse_weights',
    'ScoreModeMixin', 'set_score_mode', 'check_vocabulary_scoring'
]

#: ``det``: the detector's own scores (the branch is skipped entirely);
#: ``clip``: the contrastive branch's probabilities only;
#: ``fuse``: geometric mean ``p_det^(1 - a) * p_clip^a`` (ViLD's ensemble).
SCORE_MODES = ('det', 'clip', 'fuse')


def check_score_mode(score_mode: str, fuse_alpha: float) -> None:
    """Raise a clear error for an unknown mode or an alpha outside [0, 1]."""
    if score_mode not in SCORE_MODES:
        hint = ''
        if isinstance(score_mode, str) and score_mode.lower() in SCORE_MODES:
            hint = f' (modes are lower case: {score_mode.lower()!r})'
        raise ValueError(f'score_mode={score_mode!r} is unknown{hint}; '
                         f'choose one of {SCORE_MODES}.')
    if isinstance(fuse_alpha, bool) or not isinstance(
            fuse_alpha, (int, float)) or not 0.0 <= fuse_alpha <= 1.0:
        raise ValueError(f'fuse_alpha={fuse_alpha!r} must be a number in '
                         '[0, 1] (the weight of the contrastive scores in '
                         'fuse mode).')


def check_objectness_power(power: float) -> float:
    """The exponent of the detector's confidence in dense ``clip`` scores
    (``softmax * (max_c p_det) ** power``) as a float, or a clear error
    when it is no number in [0, 1]."""
    if isinstance(power, bool) or not isinstance(
            power, (int, float)) or not 0.0 <= power <= 1.0:
        raise ValueError(f'objectness_power={power!r} must be a number in '
                         "[0, 1] (1: the detector's confidence times the "
                         "branch's softmax, 0: the softmax alone).")
    return float(power)


def check_fuse_frequency_power(power: float) -> float:
    """``fuse_frequency_power`` as a float, or a clear error when it is
    no number >= 0."""
    if isinstance(power, bool) or not isinstance(
            power, (int, float)) or not power >= 0:
        raise ValueError(f'fuse_frequency_power={power!r} must be a number '
                         '>= 0 (0: one fuse_alpha for every class).')
    return float(power)


def frequency_fuse_weights(counts: Tensor, alpha: float,
                           power: float) -> Tensor:
    """Per-class weights of the contrastive scores in ``fuse`` mode.

    ``alpha_c = 1 - (1 - alpha) * (n_c / n_max) ** power``: the most
    frequent class keeps ``alpha``, rarer classes lean towards the branch
    (the detector's own classifier saw few of their boxes), a class without
    training boxes takes the branch's score alone.

    Args:
        counts (Tensor): training boxes per class, shape (C,), not all 0.
        alpha (float): ``fuse_alpha``, the weight of the most frequent
            class.
        power (float): ``fuse_frequency_power`` (0: ``alpha`` everywhere).

    Returns:
        Tensor: float32 weights in ``[alpha, 1]``, shape (C,).
    """
    ratio = counts.float() / counts.float().max()
    return 1.0 - (1.0 - alpha) * ratio.pow(power)


class ScoreModeMixin:
    """``score_mode`` and ``fuse_alpha`` of a ClipJoint head as validated
    attributes: an assignment (``head.score_mode = 'CLIP'``,
    ``head.fuse_alpha = 5.0``) raises the same clear error as the config,
    instead of silently scoring in another mode."""

    @property
    def score_mode(self) -> str:
        """``det``, ``clip`` or ``fuse`` (:data:`SCORE_MODES`)."""
        return self._score_mode

    @score_mode.setter
    def score_mode(self, mode: str) -> None:
        check_score_mode(mode, 0.5)
        self._score_mode = mode

    @property
    def fuse_alpha(self) -> float:
        """Weight of the contrastive probabilities in ``fuse`` mode."""
        return self._fuse_alpha

    @fuse_alpha.setter
    def fuse_alpha(self, alpha: float) -> None:
        check_score_mode('det', alpha)
        self._fuse_alpha = float(alpha)

    @property
    def fuse_frequency_power(self) -> float:
        """0: one ``fuse_alpha`` for all classes; > 0: frequency-weighted
        fusion (:func:`frequency_fuse_weights`)."""
        return getattr(self, '_fuse_frequency_power', 0.0)

    @fuse_frequency_power.setter
    def fuse_frequency_power(self, power: float) -> None:
        self._fuse_frequency_power = check_fuse_frequency_power(power)

    def fuse_weights(self, width: int):
        """The weight of the contrastive probabilities in ``fuse`` mode.

        Args:
            width (int): K, the last dim of the probabilities fused: C, or
                C + 1 with the background column last (which keeps
                ``fuse_alpha``).

        Returns:
            float | Tensor: ``fuse_alpha``, or with ``fuse_frequency_power``
            > 0 the per-class weights (K,) of
            :func:`frequency_fuse_weights` from the text bank's training
            counts.

        Raises:
            ValueError: frequency-weighted fusion without known training
                counts (a checkpoint from before they were recorded).
        """
        if self.fuse_frequency_power == 0:
            return self.fuse_alpha
        bank = self.text_bank
        if not bank.class_counts_known:
            raise ValueError(
                f'fuse_frequency_power={self.fuse_frequency_power:g} weighs '
                "the fusion by each class's training boxes, but this "
                "model's text bank holds no counts (its checkpoint predates "
                'them, or it was never trained): retrain with this version '
                '(the counts are recorded when training starts) or set '
                'fuse_frequency_power=0.')
        w = frequency_fuse_weights(bank.class_counts, self.fuse_alpha,
                                   self.fuse_frequency_power)
        if width == len(w) + 1:
            w = torch.cat([w, w.new_full((1, ), self.fuse_alpha)])
        return w


def check_vocabulary_scoring(head: ScoreModeMixin, training: bool) -> None:
    """Refuse what a swapped text bank cannot do, with a clear error.

    After :func:`~mmdet_clipjoint.apis.set_vocabulary` the bank holds new
    names the detector's own classifier has no output for: only ``clip``
    scoring is meaningful and the model cannot be trained.
    """
    bank = head.text_bank
    if not bank.is_swapped:
        return
    if training:
        raise RuntimeError(
            'this model\'s text bank was swapped by set_vocabulary() for '
            f'{bank.num_classes} inference class names: it is for inference '
            'only. Train from the original config / checkpoint.')
    if head.score_mode != 'clip':
        raise ValueError(
            f"score_mode={head.score_mode!r} scores the detector's "
            f'{len(bank.swapped_from)} training classes, but set_vocabulary()'
            f' put {bank.num_classes} new names in the text bank: use '
            "score_mode='clip' (set_vocabulary sets it).")


def set_score_mode(model: torch.nn.Module,
                   score_mode: str,
                   fuse_alpha: Optional[float] = None) -> List[str]:
    """Set ``score_mode`` (and ``fuse_alpha``) on every ClipJoint head.

    Args:
        model (nn.Module): A detector.
        score_mode (str): One of :data:`SCORE_MODES`.
        fuse_alpha (float, optional): New weight for ``fuse`` (default:
            each head keeps its own).

    Returns:
        list[str]: The names of the heads changed.

    Raises:
        ValueError: For an unknown mode / alpha (nothing is changed), or
            when the model has no ClipJoint head.
    """
    check_score_mode(score_mode, 0.5 if fuse_alpha is None else fuse_alpha)
    heads = [(n, m) for n, m in model.named_modules()
             if isinstance(m, ScoreModeMixin)]
    if not heads:
        raise ValueError('score_mode needs a ClipJoint detector (a head with '
                         'a text bank); this model has none.')
    for _, m in heads:
        m.score_mode = score_mode
        if fuse_alpha is not None:
            m.fuse_alpha = fuse_alpha
    return [n for n, _ in heads]


def fuse_probs(det: Tensor, clip: Tensor, score_mode: str,
               alpha: float) -> Tensor:
    """Combine two probability tensors of the same shape.

    Args:
        det (Tensor): Detector probabilities, shape (..., K).
        clip (Tensor): Contrastive probabilities, shape (..., K).
        score_mode (str): One of :data:`SCORE_MODES`.
        alpha (float | Tensor): Weight of ``clip`` in ``fuse`` mode: one
            number, or one per class, shape (K,).

    Returns:
        Tensor: probabilities of shape (N, K).
    """
    if score_mode == 'det':
        return det
    if score_mode == 'clip':
        return clip
    eps = torch.finfo(det.dtype).tiny
    if isinstance(alpha, Tensor):
        alpha = alpha.to(det)
    return det.clamp(min=eps).pow(1.0 - alpha) * clip.clamp(min=eps).pow(
        alpha)
