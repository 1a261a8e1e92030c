# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""YOLO11's task-aligned assigner (the Ultralytics semantics)."""
import torch
from mmengine.structures import InstanceData

from mmdet.models.task_modules.assigners import AssignResult, BaseAssigner
from mmdet.registry import TASK_UTILS
from ...losses.yolo11_ciou_loss import bbox_ciou

__all__ = ['YOLO11TaskAlignedAssigner']


@TASK_UTILS.register_module()
class YOLO11TaskAlignedAssigner(BaseAssigner):
    """Task-aligned assignment as YOLOv8 / YOLO11 train it.

    For one image with N priors and G ground-truth boxes:

    1. **Candidates**: priors whose centre lies strictly inside a GT box.
    2. **Alignment** of a candidate with a GT: ``s^alpha * CIoU^beta``, ``s``
       the predicted probability of the GT's class, CIoU (clamped at 0)
       between the GT and the predicted box. Non-candidates score 0.
    3. **Top-k** per GT over all priors, intersected with the candidates.
    4. A prior claimed by several GTs goes to the one with the highest CIoU
       among those whose box contains its centre (it then becomes positive
       for that GT even when outside its top-k).
    5. **Soft target** of a positive: its alignment / the GT's best
       alignment x the GT's best CIoU among its positives (``assign_metrics``
       of the result), the score target of the BCE and the weight of the box
       losses.

    Differences from mmdet's :class:`TaskAlignedAssigner`, kept on purpose
    to train like the published models: the centre-in-box test comes *before*
    the top-k (mmdet takes the top-k first, so a GT can end with fewer than
    k positives although more priors lie inside it), the overlap is CIoU
    (mmdet: IoU), and ties between GTs are broken by CIoU with the *box*
    (mmdet: by the alignment metric).

    Args:
        topk (int): Positives per GT at most.
        alpha (float): Exponent of the class score.
        beta (float): Exponent of the CIoU.
        eps (float): Numerical floor.
    """

    def __init__(self,
                 topk: int = 10,
                 alpha: float = 0.5,
                 beta: float = 6.0,
                 eps: float = 1e-9) -> None:
        self.topk = topk
        self.alpha = alpha
        self.beta = beta
        self.eps = eps

    def assign(self, pred_instances: InstanceData,
               gt_instances: InstanceData, **kwargs) -> AssignResult:
        """Assign priors to GTs.

        Args:
            pred_instances (InstanceData): ``priors`` (N, 2+) prior centres
                (x, y, ...) in pixels, ``scores`` (N, C) predicted class
                probabilities, ``bboxes`` (N, 4) predicted xyxy boxes (pixels).
            gt_instances (InstanceData): ``bboxes`` (G, 4), ``labels`` (G,).

        Returns:
            AssignResult: ``gt_inds`` (N,) 1-based (0 = background),
            ``labels`` (N,) (-1 for background), ``max_overlaps`` (N,) the
            CIoU with the assigned GT, and ``assign_metrics`` (N,), the soft
            target score (0 for background).
        """
        priors = pred_instances.priors[:, :2]
        scores = pred_instances.scores.detach()
        pred_boxes = pred_instances.bboxes.detach()
        gt_boxes = gt_instances.bboxes
        gt_labels = gt_instances.labels
        N, G = priors.size(0), gt_boxes.size(0)
        gt_inds = priors.new_zeros(N, dtype=torch.long)
        labels = priors.new_full((N, ), -1, dtype=torch.long)
        overlaps_out = priors.new_zeros(N)
        metrics_out = priors.new_zeros(N)
        if G == 0 or N == 0:
            result = AssignResult(G, gt_inds, overlaps_out, labels)
            result.assign_metrics = metrics_out
            return result

        # 1. centres strictly inside the boxes, (G, N)
        lt = priors[None] - gt_boxes[:, None, :2]
        rb = gt_boxes[:, None, 2:] - priors[None]
        in_gts = torch.cat([lt, rb], -1).amin(-1) > self.eps
        # 2. CIoU and alignment of the candidates, (G, N)
        overlaps = scores.new_zeros(G, N)
        align = scores.new_zeros(G, N)
        g_idx, n_idx = in_gts.nonzero(as_tuple=True)
        if len(g_idx):
            ciou = bbox_ciou(gt_boxes[g_idx], pred_boxes[n_idx]).clamp(0)
            overlaps[g_idx, n_idx] = ciou.to(overlaps.dtype)
            cls = scores[n_idx, gt_labels[g_idx]]
            align[g_idx, n_idx] = cls.pow(self.alpha) * ciou.pow(self.beta)
        # 3. top-k per GT, intersected with the candidates
        k = min(self.topk, N)
        topk_idx = align.topk(k, dim=1).indices
        pos = torch.zeros_like(in_gts)
        pos.scatter_(1, topk_idx, True)
        pos &= in_gts
        # 4. one GT per prior: the highest CIoU among the claiming GTs
        multi = pos.sum(0) > 1
        if multi.any():
            best = overlaps.argmax(0)
            one_hot = torch.zeros_like(pos)
            one_hot[best, torch.arange(N, device=pos.device)] = True
            pos = torch.where(multi[None], one_hot, pos)
        fg = pos.any(0)
        assigned = pos.float().argmax(0)
        # 5. normalised alignment as the soft target
        align = align * pos
        max_align = align.amax(1, keepdim=True)
        max_ov = (overlaps * pos).amax(1, keepdim=True)
        norm = (align * max_ov / (max_align + self.eps)).amax(0)
        gt_inds[fg] = assigned[fg] + 1
        labels[fg] = gt_labels[assigned[fg]]
        overlaps_out[fg] = overlaps[assigned[fg], fg.nonzero().squeeze(1)]
        metrics_out[fg] = norm[fg]
        result = AssignResult(G, gt_inds, overlaps_out, labels)
        result.assign_metrics = metrics_out
        return result
