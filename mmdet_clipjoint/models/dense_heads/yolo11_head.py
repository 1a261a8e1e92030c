# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""YOLO11's decoupled detection head (DFL boxes, depthwise class branch)."""
import math
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData
from torch import Tensor

from mmdet.models.dense_heads.base_dense_head import BaseDenseHead
from mmdet.models.utils import multi_apply
from mmdet.registry import MODELS, TASK_UTILS
from mmdet.utils import (ConfigType, InstanceList, OptConfigType,
                         OptInstanceList, OptMultiConfig)
from ..layers.yolo11_blocks import YOLO11_ACT, YOLO11_NORM, yolo11_conv
from ..utils.dist import reduce_mean_factor

__all__ = ['YOLO11Head']


@MODELS.register_module()
class YOLO11Head(BaseDenseHead):
    """YOLO11's anchor-free head, per level (weights not shared).

    * **Box branch**: Conv 3x3 -> Conv 3x3 (``max(16, C_P3 // 4, 4 *
      reg_max)`` channels) -> 1x1 conv to ``4 * reg_max``: per side (l, t,
      r, b) a distribution over ``reg_max`` bins; the distance is its
      expectation, in units of the level's stride, from the prior centre
      (cell centre, offset 0.5).
    * **Class branch**: depthwise Conv 3x3 -> Conv 1x1 to ``c3 =
      max(C_P3, min(num_classes, 100))`` -> depthwise Conv 3x3 -> Conv 1x1
      -> 1x1 conv to ``num_classes`` logits. The ``c3``-wide feature before
      the last conv is the classifier's input (``feat_channels``): what the
      ClipJoint branch taps.
    * **Bias init**: class ``log(5 / num_classes / (640 / stride)^2)``,
      box 1.0.
    * **Training**: :class:`YOLO11TaskAlignedAssigner` (soft targets),
      BCE (sum / sum of targets) x 0.5, CIoU x 7.5 and DFL x 1.5 weighted
      by the positives' targets. With ``scale_loss_by_batch`` (default),
      the losses are multiplied by the batch size as the published
      training does, so its SGD recipe (lr 0.01) applies unchanged.
    * **Inference**: multi-label scores above ``score_thr``, ``nms_pre``
      per level, class-wise NMS (the base head's post-processing).

    Args:
        num_classes (int): Number of classes.
        in_channels (Sequence[int]): Channels of each input level (the
            neck's outputs).
        reg_max (int): DFL bins per side.
        strides (Sequence[int]): Strides of the levels.
        norm_cfg (dict): Norm config. act_cfg (dict): Activation config.
        loss_cls (dict): Sigmoid BCE config.
        loss_bbox (dict): CIoU loss config.
        loss_dfl (dict): Distribution focal loss config.
        scale_loss_by_batch (bool): Multiply the losses by the batch size.
        train_cfg (dict, optional): ``assigner`` config.
        test_cfg (dict, optional): ``nms_pre``, ``score_thr``, ``nms``,
            ``max_per_img``.
        init_cfg (dict, optional): Init config.
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: Sequence[int] = (64, 128, 256),
                 reg_max: int = 16,
                 strides: Sequence[int] = (8, 16, 32),
                 norm_cfg: ConfigType = YOLO11_NORM,
                 act_cfg: ConfigType = YOLO11_ACT,
                 loss_cls: ConfigType = dict(
                     type='CrossEntropyLoss',
                     use_sigmoid=True,
                     reduction='mean',
                     loss_weight=0.5),
                 loss_bbox: ConfigType = dict(
                     type='YOLO11CIoULoss', loss_weight=7.5),
                 loss_dfl: ConfigType = dict(
                     type='DistributionFocalLoss',
                     reduction='mean',
                     loss_weight=1.5),
                 scale_loss_by_batch: bool = True,
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        in_channels = tuple(in_channels)
        if len(in_channels) != len(strides):
            raise ValueError(f'YOLO11Head: {len(in_channels)} in_channels '
                             f'for {len(strides)} strides.')
        self.num_classes = num_classes
        self.cls_out_channels = num_classes
        self.use_sigmoid_cls = True
        self.in_channels = in_channels
        self.reg_max = reg_max
        self.strides = tuple(strides)
        self.scale_loss_by_batch = scale_loss_by_batch
        self.train_cfg = train_cfg
        self.test_cfg = None if test_cfg is None else ConfigDict(test_cfg)
        self.prior_generator = TASK_UTILS.build(
            dict(type='MlvlPointGenerator', strides=strides, offset=0.5))
        self.bbox_coder = TASK_UTILS.build(dict(type='DistancePointBBoxCoder'))
        if train_cfg:
            self.assigner = TASK_UTILS.build(train_cfg['assigner'])
        self.loss_cls = MODELS.build(loss_cls)
        self.loss_bbox = MODELS.build(loss_bbox)
        self.loss_dfl = MODELS.build(loss_dfl)

        cfg = dict(norm_cfg=norm_cfg, act_cfg=act_cfg)
        reg_ch = max(16, in_channels[0] // 4, 4 * reg_max)
        #: width of the classifier's input feature
        self.feat_channels = max(in_channels[0], min(num_classes, 100))
        c3 = self.feat_channels
        self.reg_convs = nn.ModuleList()
        self.reg_preds = nn.ModuleList()
        self.cls_convs = nn.ModuleList()
        self.cls_preds = nn.ModuleList()
        for ch in in_channels:
            self.reg_convs.append(
                nn.Sequential(
                    yolo11_conv(ch, reg_ch, 3, **cfg),
                    yolo11_conv(reg_ch, reg_ch, 3, **cfg)))
            self.reg_preds.append(nn.Conv2d(reg_ch, 4 * reg_max, 1))
            self.cls_convs.append(
                nn.Sequential(
                    yolo11_conv(ch, ch, 3, groups=ch, **cfg),
                    yolo11_conv(ch, c3, 1, **cfg),
                    yolo11_conv(c3, c3, 3, groups=c3, **cfg),
                    yolo11_conv(c3, c3, 1, **cfg)))
            self.cls_preds.append(nn.Conv2d(c3, num_classes, 1))
        # the DFL expectation's bin values 0..reg_max-1: a frozen parameter,
        # as YOLO's fixed 1x1 "dfl" conv (so the parameter counts match the
        # published ones)
        self.dfl_bins = nn.Parameter(
            torch.arange(reg_max, dtype=torch.float), requires_grad=False)

    def init_weights(self) -> None:
        """Default init, then YOLO's prior-based biases (class
        ``log(5 / C / (640 / s)^2)``, box 1.0)."""
        super().init_weights()
        for cls_pred, reg_pred, s in zip(self.cls_preds, self.reg_preds,
                                         self.strides):
            nn.init.constant_(reg_pred.bias, 1.0)
            nn.init.constant_(cls_pred.bias,
                              math.log(5 / self.num_classes / (640 / s)**2))

    # ------------------------------------------------------------------
    # forward
    # ------------------------------------------------------------------
    def forward_single(self, x: Tensor, idx: int) -> Tuple[Tensor, Tensor]:
        """One level.

        Args:
            x (Tensor): level ``idx`` features (B, C_in, H, W).
            idx (int): level index.

        Returns:
            tuple[Tensor]: ``cls_score`` (B, num_classes, H, W) logits and
            ``bbox_dist`` (B, 4 * reg_max, H, W) DFL logits, side-major.
        """
        cls_feat = self.cls_convs[idx](x)
        return self.cls_preds[idx](cls_feat), self.reg_preds[idx](
            self.reg_convs[idx](x))

    def forward(self, feats: Tuple[Tensor, ...]) -> Tuple[tuple, tuple]:
        """Args: feats (tuple[Tensor]): per level (B, C_l, H_l, W_l).

        Returns:
            tuple: ``cls_scores`` and ``bbox_dists``, per level, as
            :meth:`forward_single`.
        """
        cls_scores, bbox_dists = multi_apply(self.forward_single, feats,
                                             range(len(feats)))
        return tuple(cls_scores), tuple(bbox_dists)

    def dist_to_distance(self, dist: Tensor, dim: int) -> Tensor:
        """Expected distances from DFL logits.

        Args:
            dist (Tensor): logits with ``4 * reg_max`` entries along ``dim``
                (side-major).
            dim (int): that dimension.

        Returns:
            Tensor: the 4 expected distances (l, t, r, b) along ``dim``, in
            stride units.
        """
        shape = list(dist.shape)
        dim = dim % dist.dim()
        shape[dim:dim + 1] = [4, self.reg_max]
        prob = dist.reshape(shape).softmax(dim + 1)
        bins = self.dfl_bins.to(prob.dtype).view(
            [-1] + [1] * (prob.dim() - dim - 2))
        return (prob * bins).sum(dim + 1)

    # ------------------------------------------------------------------
    # training
    # ------------------------------------------------------------------
    def _flat_outputs(self, cls_scores: Sequence[Tensor],
                      bbox_dists: Sequence[Tensor]) -> tuple:
        """Flatten the levels and decode the boxes.

        Returns:
            tuple[Tensor]: ``priors`` (N, 4) (x, y, stride_x, stride_y),
            ``flat_cls`` (B, N, C), ``flat_dist`` (B, N, 4 * reg_max) and
            ``boxes`` (B, N, 4) xyxy in pixels.
        """
        B = cls_scores[0].size(0)
        sizes = [s.shape[-2:] for s in cls_scores]
        priors = torch.cat(
            self.prior_generator.grid_priors(
                sizes,
                dtype=cls_scores[0].dtype,
                device=cls_scores[0].device,
                with_stride=True))
        flat_cls = torch.cat([
            s.permute(0, 2, 3, 1).reshape(B, -1, self.num_classes)
            for s in cls_scores
        ], 1)
        flat_dist = torch.cat([
            d.permute(0, 2, 3, 1).reshape(B, -1, 4 * self.reg_max)
            for d in bbox_dists
        ], 1)
        dist = self.dist_to_distance(flat_dist, -1) * priors[:, 2:3]
        boxes = self.bbox_coder.decode(priors[None, :, :2].expand(B, -1, -1),
                                       dist)
        return priors, flat_cls, flat_dist, boxes

    def _get_targets_single(self, scores: Tensor, bboxes: Tensor,
                            priors: Tensor, gt_instances: InstanceData,
                            img_meta: dict) -> tuple:
        """Assign one image's priors.

        Args:
            scores (Tensor): (N, C) predicted probabilities (detached).
            bboxes (Tensor): (N, 4) decoded predictions (detached).
            priors (Tensor): (N, 4) prior centres and strides.
            gt_instances (InstanceData): ``bboxes`` (G, 4), ``labels`` (G,).
            img_meta (dict): image meta (unused).

        Returns:
            tuple[Tensor]: ``labels`` (N,) in [0, C] (C = background),
            ``label_weights`` (N,) (ones: every prior counts),
            ``bbox_targets`` (N, 4) and ``target_scores`` (N,), the soft
            targets of positives (0 elsewhere).
        """
        assign = self.assigner.assign(
            InstanceData(priors=priors, scores=scores, bboxes=bboxes),
            gt_instances)
        fg = assign.gt_inds > 0
        labels = assign.labels.new_full(assign.labels.shape,
                                        self.num_classes)
        labels[fg] = assign.labels[fg]
        bbox_targets = bboxes.new_zeros(bboxes.shape)
        gt_boxes = gt_instances.bboxes
        if fg.any():
            bbox_targets[fg] = gt_boxes[assign.gt_inds[fg] - 1].to(
                bboxes.dtype)
        return (labels, torch.ones_like(assign.max_overlaps), bbox_targets,
                assign.assign_metrics)

    def loss_by_feat(
            self,
            cls_scores: List[Tensor],
            bbox_dists: List[Tensor],
            batch_gt_instances: InstanceList,
            batch_img_metas: List[dict],
            batch_gt_instances_ignore: OptInstanceList = None) -> dict:
        """BCE, CIoU and DFL losses.

        Args:
            cls_scores (list[Tensor]): per level (B, C, H, W) logits.
            bbox_dists (list[Tensor]): per level (B, 4 * reg_max, H, W).
            batch_gt_instances (list[:obj:`InstanceData`]): ground truth.
            batch_img_metas (list[dict]): image metas.
            batch_gt_instances_ignore (list, optional): not supported
                (ignored regions count as background, as in YOLO11).

        Returns:
            dict[str, Tensor]: ``loss_cls``, ``loss_bbox``, ``loss_dfl``.
        """
        B = len(batch_img_metas)
        priors, flat_cls, flat_dist, boxes = self._flat_outputs(
            cls_scores, bbox_dists)
        labels, _, bbox_targets, target_scores = multi_apply(
            self._get_targets_single,
            flat_cls.detach().sigmoid(), boxes.detach(), [priors] * B,
            batch_gt_instances, batch_img_metas)
        labels = torch.stack(labels)
        bbox_targets = torch.stack(bbox_targets)
        target_scores = torch.stack(target_scores).to(flat_cls.dtype)
        fg = labels < self.num_classes
        cls_targets = F.one_hot(labels, self.num_classes + 1)[
            ..., :self.num_classes].to(flat_cls.dtype) * target_scores[..., None]
        avg = reduce_mean_factor(target_scores.sum())
        losses = dict(loss_cls=self.loss_cls(
            flat_cls, cls_targets, avg_factor=avg))
        if fg.any():
            weight = target_scores[fg]
            losses['loss_bbox'] = self.loss_bbox(
                boxes[fg], bbox_targets[fg], weight=weight, avg_factor=avg)
            pos_priors = priors[None].expand(B, -1, -1)[fg]
            ltrb = torch.cat([
                pos_priors[:, :2] - bbox_targets[fg][:, :2],
                bbox_targets[fg][:, 2:] - pos_priors[:, :2]
            ], 1) / pos_priors[:, 2:3]
            ltrb = ltrb.clamp(0, self.reg_max - 1 - 0.01)
            losses['loss_dfl'] = self.loss_dfl(
                flat_dist[fg].reshape(-1, self.reg_max),
                ltrb.reshape(-1),
                weight=weight.repeat_interleave(4),
                avg_factor=4 * avg)
        else:
            losses['loss_bbox'] = flat_dist.sum() * 0
            losses['loss_dfl'] = flat_dist.sum() * 0
        if self.scale_loss_by_batch:
            losses = {k: v * B for k, v in losses.items()}
        return losses

    # ------------------------------------------------------------------
    # inference
    # ------------------------------------------------------------------
    def predict_by_feat(self,
                        cls_scores: List[Tensor],
                        bbox_dists: List[Tensor],
                        score_factors: Optional[List[Tensor]] = None,
                        batch_img_metas: Optional[List[dict]] = None,
                        cfg: Optional[ConfigDict] = None,
                        rescale: bool = False,
                        with_nms: bool = True) -> InstanceList:
        """Boxes from the DFL expectations, then the base post-process.

        Args:
            cls_scores (list[Tensor]): per level (B, C, H, W) logits.
            bbox_dists (list[Tensor]): per level (B, 4 * reg_max, H, W).
            score_factors: unused (YOLO11 has no objectness).
            batch_img_metas (list[dict]): image metas.
            cfg (ConfigDict, optional): test config.
            rescale (bool): rescale boxes to the original image.
            with_nms (bool): run NMS.

        Returns:
            list[:obj:`InstanceData`]: ``bboxes`` (n, 4), ``scores`` (n,),
            ``labels`` (n,) per image.
        """
        distances = [
            self.dist_to_distance(d, 1) * s
            for d, s in zip(bbox_dists, self.strides)
        ]
        return super().predict_by_feat(
            cls_scores,
            distances,
            batch_img_metas=batch_img_metas,
            cfg=cfg,
            rescale=rescale,
            with_nms=with_nms)
