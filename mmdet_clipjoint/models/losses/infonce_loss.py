# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""InfoNCE between region embeddings and class text embeddings."""
from typing import Optional

import torch
import torch.nn as nn
from torch import Tensor

from mmdet.models.losses.utils import weight_reduce_loss
from mmdet.registry import MODELS

__all__ = ['InfoNCELoss', 'infonce_loss']


def infonce_loss(logits: Tensor,
                 labels: Tensor,
                 num_classes: int,
                 weight: Optional[Tensor] = None,
                 reduction: str = 'mean',
                 avg_factor: Optional[float] = None,
                 symmetric: bool = True) -> Tensor:
    """Region-text InfoNCE with the positives given by the labels.

    Region -> text: each foreground region (``0 <= label < num_classes``)
    must pick its class among all K text entries (a softmax over the row).
    Text -> region (``symmetric=True``): each class present in the batch
    must pick its regions among all N regions of the batch, background ones
    included (a multi-positive softmax over the column, as in SupCon).

    Args:
        logits (Tensor): Similarities already divided by the temperature,
            shape (N, K) with K >= num_classes (extra columns, e.g. a
            background entry, act as negatives only).
        labels (Tensor): Class index per region, shape (N,); values outside
            ``[0, num_classes)`` mark background / negative-only regions.
        num_classes (int): C, the number of foreground classes.
        weight (Tensor, optional): Per-region weight, shape (N,) (e.g. the
            assigner's quality); weights the region -> text terms and the
            positives of the text -> region terms.
        reduction (str): ``'none'``, ``'mean'`` or ``'sum'``.
        avg_factor (float, optional): Normaliser of the region -> text term
            for ``'mean'``.
        symmetric (bool): Add the text -> region direction.

    Returns:
        Tensor: the loss (a scalar unless ``reduction='none'``, which gives
        the per-region region -> text terms, shape (N,), zero for
        background). With no positive region the result is a zero that
        still belongs to the graph.
    """
    pos = (labels >= 0) & (labels < num_classes)
    if weight is None:
        weight = logits.new_ones(len(labels))
    weight = weight.float() * pos.float()
    if not pos.any():
        zero = logits.sum() * 0.0
        return logits.new_zeros(len(labels)) + zero \
            if reduction == 'none' else zero
    safe_labels = torch.where(pos, labels, torch.zeros_like(labels))
    # region -> text
    r2t = torch.logsumexp(logits, dim=1) - logits.gather(
        1, safe_labels[:, None]).squeeze(1)
    if reduction == 'none':
        return r2t * weight
    if reduction == 'mean' and avg_factor is None:
        avg_factor = weight.sum().clamp(min=1e-6)
    loss = weight_reduce_loss(r2t, weight, reduction,
                              avg_factor if reduction == 'mean' else None)
    if not symmetric:
        return loss
    # text -> region, over the columns of the classes present
    cls_logits = logits[:, :num_classes]
    onehot = torch.zeros_like(cls_logits, dtype=torch.bool)
    onehot[pos, labels[pos]] = True
    present = onehot.any(dim=0)  # (C,)
    log_den = torch.logsumexp(cls_logits[:, present], dim=0)
    pos_logits = cls_logits[:, present].masked_fill(~onehot[:, present],
                                                    float('-inf'))
    # weighted multi-positive numerator: log sum_i w_i exp(l_ic)
    log_w = weight.clamp(min=1e-12).log()[:, None]
    log_num = torch.logsumexp(pos_logits + log_w, dim=0)
    t2r = log_den - log_num
    t2r = t2r.mean() if reduction == 'mean' else t2r.sum()
    return 0.5 * (loss + t2r)


@MODELS.register_module()
class InfoNCELoss(nn.Module):
    """mmdet-style wrapper of :func:`infonce_loss`.

    Args:
        symmetric (bool): Also contrast each class' text embedding against
            the regions of the batch. Defaults to True.
        reduction (str): ``'none'``, ``'mean'`` or ``'sum'``.
        loss_weight (float): Weight of the loss; must be >= 0.
    """

    def __init__(self,
                 symmetric: bool = True,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        if reduction not in ('none', 'mean', 'sum'):
            raise ValueError(f'reduction={reduction!r}; use none/mean/sum.')
        if loss_weight < 0:
            raise ValueError(f'InfoNCELoss loss_weight={loss_weight} must be '
                             '>= 0 (0 disables the term).')
        self.symmetric = symmetric
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
        return self.loss_weight * infonce_loss(
            logits, labels, num_classes, weight, reduction, avg_factor,
            self.symmetric)
