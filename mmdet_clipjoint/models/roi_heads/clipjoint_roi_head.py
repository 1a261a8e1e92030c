# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Faster R-CNN RoI head trained jointly with CLIP-style supervision."""
from typing import List, Tuple

from torch import Tensor

from mmdet.models.roi_heads import StandardRoIHead
from mmdet.models.task_modules.samplers import SamplingResult
from mmdet.registry import MODELS
from mmdet.structures.bbox import bbox2roi

__all__ = ['ClipJointRoIHead']


@MODELS.register_module()
class ClipJointRoIHead(StandardRoIHead):
    """``StandardRoIHead`` whose box head has a contrastive branch.

    Pair it with :class:`ClipJointBBoxHead`. Only two methods change:

    * :meth:`_bbox_forward` receives the region embeddings next to the
      stock outputs and, at inference, applies the head's ``score_mode``;
    * :meth:`bbox_loss` adds the contrastive losses, computed on the same
      sampled RoIs and targets as the stock classification loss.
    """

    def _bbox_forward(self, x: Tuple[Tensor], rois: Tensor) -> dict:
        """Box head forward used in both training and testing.

        Args:
            x (tuple[Tensor]): Multi-level features, each (B, C, H, W).
            rois (Tensor): shape (N, 5), batch index first.

        Returns:
            dict[str, Tensor]: ``cls_score`` (N, C + 1; fused at inference),
            ``bbox_pred``, ``bbox_feats`` and ``region_embed`` ((N, D) or
            None).
        """
        bbox_feats = self.bbox_roi_extractor(
            x[:self.bbox_roi_extractor.num_inputs], rois)
        if self.with_shared_head:
            bbox_feats = self.shared_head(bbox_feats)
        cls_score, bbox_pred, region_embed = self.bbox_head(bbox_feats)
        if not self.training:
            if self.bbox_head.text_bank.is_swapped:
                bbox_pred = self.bbox_head.vocabulary_bbox_pred(
                    cls_score, bbox_pred)
            cls_score = self.bbox_head.fuse_scores(cls_score, region_embed)
        return dict(cls_score=cls_score, bbox_pred=bbox_pred,
                    bbox_feats=bbox_feats, region_embed=region_embed)

    def bbox_loss(self, x: Tuple[Tensor],
                  sampling_results: List[SamplingResult]) -> dict:
        """Stock box losses plus ``loss_contrast`` / ``loss_clip_ce``.

        Args:
            x (tuple[Tensor]): Multi-level features.
            sampling_results (list[SamplingResult]): Sampled RoIs.

        Returns:
            dict: as :meth:`StandardRoIHead.bbox_loss`, with the contrastive
            terms merged into ``loss_bbox``.
        """
        rois = bbox2roi([res.priors for res in sampling_results])
        bbox_results = self._bbox_forward(x, rois)
        out = self.bbox_head.loss_and_target(
            cls_score=bbox_results['cls_score'],
            bbox_pred=bbox_results['bbox_pred'],
            rois=rois,
            sampling_results=sampling_results,
            rcnn_train_cfg=self.train_cfg)
        labels, label_weights = out['bbox_targets'][:2]
        losses = dict(out['loss_bbox'])
        losses.update(
            self.bbox_head.loss_contrastive(bbox_results['region_embed'],
                                            labels, label_weights))
        bbox_results.update(loss_bbox=losses)
        return bbox_results
