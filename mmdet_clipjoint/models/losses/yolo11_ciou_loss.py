# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Complete IoU as YOLO11 computes it, and its loss."""
import math
from typing import Optional

import torch
import torch.nn as nn
from torch import Tensor

from mmdet.registry import MODELS

__all__ = ['bbox_ciou', 'YOLO11CIoULoss']


def bbox_ciou(boxes1: Tensor, boxes2: Tensor, eps: float = 1e-7) -> Tensor:
    """Element-wise Complete IoU of two sets of xyxy boxes.

    ``CIoU = IoU - rho^2 / c^2 - a * v`` with ``v = 4 / pi^2 (atan(w2 / h2)
    - atan(w1 / h1))^2`` and ``a = v / (v - IoU + 1 + eps)`` (``a`` without
    gradient). Unlike :func:`mmdet.models.losses.ciou_loss`, the aspect
    term is not gated to ``IoU > 0.5``: YOLO11 uses the same CIoU for the
    assignment (where it ranks candidates of any overlap) and the loss.

    Args:
        boxes1 (Tensor): (..., 4) xyxy.
        boxes2 (Tensor): (..., 4) xyxy, broadcastable to ``boxes1``.
        eps (float): Numerical floor.

    Returns:
        Tensor: CIoU in [-1.5, 1], shape (...).
    """
    b1_x1, b1_y1, b1_x2, b1_y2 = boxes1.unbind(-1)
    b2_x1, b2_y1, b2_x2, b2_y2 = boxes2.unbind(-1)
    w1, h1 = b1_x2 - b1_x1, (b1_y2 - b1_y1).clamp(min=0) + eps
    w2, h2 = b2_x2 - b2_x1, (b2_y2 - b2_y1).clamp(min=0) + eps
    inter = ((torch.min(b1_x2, b2_x2) - torch.max(b1_x1, b2_x1)).clamp(0) *
             (torch.min(b1_y2, b2_y2) - torch.max(b1_y1, b2_y1)).clamp(0))
    union = w1 * h1 + w2 * h2 - inter + eps
    iou = inter / union
    cw = torch.max(b1_x2, b2_x2) - torch.min(b1_x1, b2_x1)
    ch = torch.max(b1_y2, b2_y2) - torch.min(b1_y1, b2_y1)
    c2 = cw.pow(2) + ch.pow(2) + eps
    rho2 = ((b2_x1 + b2_x2 - b1_x1 - b1_x2).pow(2) +
            (b2_y1 + b2_y2 - b1_y1 - b1_y2).pow(2)) / 4
    v = (4 / math.pi**2) * (torch.atan(w2 / h2) - torch.atan(w1 / h1)).pow(2)
    with torch.no_grad():
        alpha = v / (v - iou + (1 + eps))
    return iou - (rho2 / c2 + v * alpha)


@MODELS.register_module()
class YOLO11CIoULoss(nn.Module):
    """``sum_i w_i (1 - CIoU_i) / avg_factor`` (YOLO11's box loss).

    mmdet's ``CIoULoss`` gates the aspect-ratio term to IoU > 0.5 and clamps
    CIoU; this one follows :func:`bbox_ciou`.

    Args:
        eps (float): Numerical floor.
        loss_weight (float): Multiplier (7.5 in YOLO11).
    """

    def __init__(self, eps: float = 1e-7, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.eps = eps
        self.loss_weight = loss_weight

    def forward(self,
                pred: Tensor,
                target: Tensor,
                weight: Optional[Tensor] = None,
                avg_factor: Optional[float] = None) -> Tensor:
        """Args:
            pred (Tensor): (n, 4) xyxy predictions.
            target (Tensor): (n, 4) xyxy targets.
            weight (Tensor, optional): (n,) per-box weights.
            avg_factor (float, optional): Divisor of the sum (default n).

        Returns:
            Tensor: scalar loss.
        """
        loss = 1.0 - bbox_ciou(pred, target, self.eps)
        if weight is not None:
            loss = loss * weight
        denom = avg_factor if avg_factor is not None else max(len(loss), 1)
        return self.loss_weight * loss.sum() / denom
