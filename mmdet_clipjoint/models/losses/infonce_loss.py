# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""InfoNCE between region embeddings and class text embeddings."""
from typing import Optional, Tuple

import torch
import torch.nn as nn
from torch import Tensor

from mmdet.registry import MODELS
from ..utils.dist import all_gather_with_grad

__all__ = ['InfoNCELoss', 'infonce_loss']


def _text_to_region(logits: Tensor, labels: Tensor,
                    num_classes: int) -> Tensor:
    """Per-region text -> region terms ``-log p(region i | text c_i)``.

    The softmax runs over the column of the region's class across *all*
    regions given (background ones included), so every term is >= 0.

    Args:
        logits (Tensor): (N, K) temperature-scaled similarities.
        labels (Tensor): (N,) class indices; outside ``[0, C)`` is
            background.
        num_classes (int): C.

    Returns:
        Tensor: (N,) terms, zero for background regions.
    """
    pos = (labels >= 0) & (labels < num_classes)
    safe = torch.where(pos, labels, torch.zeros_like(labels))
    log_den = torch.logsumexp(logits[:, :num_classes], dim=0)  # (C,)
    terms = log_den[safe] - logits.gather(1, safe[:, None]).squeeze(1)
    return terms * pos.float()


def infonce_loss(logits: Tensor,
                 labels: Tensor,
                 num_classes: int,
                 weight: Optional[Tensor] = None,
                 reduction: str = 'mean',
                 avg_factor: Optional[float] = None,
                 symmetric: bool = False,
                 gathered: Optional[Tuple[Tensor, Tensor, int]] = None
                 ) -> Tensor:
    """Region-text InfoNCE with the positives given by the labels.

    Only **foreground** regions (``0 <= label < num_classes``) are anchors:
    the background regions of a batch are what the auxiliary CE (towards
    the bank's background entry) is for, so no region is counted twice.

    * Region -> text: each foreground region must pick its class among all
      K text entries (softmax over the row; a background entry, when
      present, is one more negative).
    * Text -> region (``symmetric=True``): each foreground region must be
      picked by its class' text among all regions of the batch, background
      ones included (softmax over the column). With weights, the term is
      ``sum_i w_i (-log p_i) / avg_factor``: a weighted average of
      non-negative terms, per region like the other direction, so a rare
      class with one region does not weigh as much as a frequent one.

    Args:
        logits (Tensor): Similarities already divided by the temperature,
            shape (N, K) with K >= num_classes.
        labels (Tensor): Class index per region, shape (N,); values outside
            ``[0, num_classes)`` mark background regions.
        num_classes (int): C, the number of foreground classes.
        weight (Tensor, optional): Per-region weight (e.g. the assigner's
            quality), shape (N,).
        reduction (str): ``'none'``, ``'mean'`` or ``'sum'``.
        avg_factor (float, optional): Normaliser of ``'mean'``; default the
            sum of the foreground weights.
        symmetric (bool): Add the text -> region direction (the result is
            then the mean of both directions).
        gathered (tuple, optional): ``(logits, labels, offset)`` of
            every rank (from :func:`all_gather_with_grad`), used by the text
            -> region denominators; ``offset`` locates this rank's rows.

    Returns:
        Tensor: the loss (a scalar unless ``reduction='none'``, which gives
        the per-region terms, shape (N,), zero for background). With no
        foreground region the result is a zero that still belongs to the
        graph.
    """
    pos = (labels >= 0) & (labels < num_classes)
    if weight is None:
        weight = logits.new_ones(len(labels))
    weight = weight.float() * pos.float()
    safe_labels = torch.where(pos, labels, torch.zeros_like(labels))
    r2t = torch.logsumexp(logits, dim=1) - logits.gather(
        1, safe_labels[:, None]).squeeze(1)
    terms = r2t * pos.float()
    if symmetric:
        if gathered is None:
            t2r = _text_to_region(logits, labels, num_classes)
        else:
            all_logits, all_labels, offset = gathered
            t2r = _text_to_region(all_logits, all_labels,
                                  num_classes)[offset:offset + len(labels)]
        terms = 0.5 * (terms + t2r)
    if reduction == 'none':
        return terms * weight
    total = (terms * weight).sum()
    if reduction == 'sum':
        return total
    if avg_factor is None:
        avg_factor = weight.sum()
    # mmdet's convention (weight_reduce_loss): divide by avg_factor + eps
    return total / (avg_factor + torch.finfo(torch.float32).eps)


@MODELS.register_module()
class InfoNCELoss(nn.Module):
    """mmdet-style wrapper of :func:`infonce_loss`.

    Args:
        symmetric (bool): Also contrast each class' text embedding against
            the regions of the batch (text -> region). Defaults to False:
            region -> text only, as the peers with class prototypes (ViLD,
            Detic, RegionCLIP, YOLO-World).
        gather_across_ranks (bool): In distributed training, the text ->
            region softmax runs over the regions of *all* ranks (an
            all-gather that keeps the gradient), so the result does not
            depend on how the batch is split. Defaults to True.
        reduction (str): ``'none'``, ``'mean'`` or ``'sum'``.
        loss_weight (float): Weight of the loss; must be >= 0.
    """

    def __init__(self,
                 symmetric: bool = False,
                 gather_across_ranks: bool = True,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        if reduction not in ('none', 'mean', 'sum'):
            raise ValueError(f'reduction={reduction!r}; use none/mean/sum.')
        if loss_weight < 0:
            raise ValueError(f'InfoNCELoss loss_weight={loss_weight} must be '
                             '>= 0 (0 disables the term).')
        self.symmetric = symmetric
        self.gather_across_ranks = gather_across_ranks
        self.reduction = reduction
        self.loss_weight = loss_weight

    def forward(self,
                logits: Tensor,
                labels: Tensor,
                weight: Optional[Tensor] = None,
                avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None,
                num_classes: Optional[int] = None) -> Tensor:
        """Compute the loss.

        Args:
            logits (Tensor): (N, K) temperature-scaled similarities.
            labels (Tensor): (N,) class indices; ``>= num_classes`` or
                ``< 0`` is background.
            weight (Tensor, optional): (N,) per-region weights.
            avg_factor (float, optional): Normaliser for ``'mean'``.
            reduction_override (str, optional): Overrides ``reduction``.
            num_classes (int, optional): C; defaults to K.

        Returns:
            Tensor: the weighted loss.
        """
        assert reduction_override in (None, 'none', 'mean', 'sum')
        reduction = reduction_override or self.reduction
        if num_classes is None:
            num_classes = logits.size(1)
        gathered = None
        if self.symmetric and self.gather_across_ranks:
            gathered = all_gather_with_grad(logits, labels)
        return self.loss_weight * infonce_loss(
            logits, labels, num_classes, weight, reduction, avg_factor,
            self.symmetric, gathered)
