# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Faster R-CNN RoI head trained jointly with CLIP-style supervision."""
from typing import Dict, List, Tuple

import torch
from torch import Tensor

from mmdet.models.roi_heads import StandardRoIHead
from mmdet.models.task_modules.samplers import SamplingResult
from mmdet.registry import MODELS
from mmdet.structures import SampleList
from mmdet.structures.bbox import bbox2roi
from mmdet.utils import InstanceList
from ..layers.score_fusion import check_vocabulary_scoring
from ..utils.captions import caption_phrase_batch
from ..utils.grounding import grounding_phrase_targets

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
            if self.bbox_head.vocabulary_swapped:
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
        # a swapped vocabulary is for inference only (before the stock
        # targets, which assume the trained label space)
        check_vocabulary_scoring(self.bbox_head, training=True)
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

    def word_region_embeddings(self, x: Tuple[Tensor], boxes: List[Tensor],
                               batch: str) -> Tensor:
        """Branch embeddings of boxes for the word-region losses.

        No detection loss bounds the branch's gradient on these rows: the
        fork passes it unbounded here.

        Args:
            x (tuple[Tensor]): Neck outputs.
            boxes (list[Tensor]): Per image (n_i, 4) boxes.
            batch (str): What the batch is, for the error message.

        Returns:
            Tensor: (sum n_i, D) L2-normalised.

        Raises:
            ValueError: the box head has no ``loss_word_region``.
        """
        head = self.bbox_head
        if head.loss_word_region is None:
            raise ValueError(
                f'{batch} reached the bbox head, whose loss_word_region is '
                'None: configure loss_word_region or train on boxes only.')
        check_vocabulary_scoring(head, training=True)
        feats = self.bbox_roi_extractor(
            x[:self.bbox_roi_extractor.num_inputs], bbox2roi(boxes))
        if self.with_shared_head:
            feats = self.shared_head(feats)
        return head.region_embeddings(feats)

    def loss_by_captions(self, x: Tuple[Tensor], rpn_results_list: InstanceList,
                         batch_data_samples: SampleList) -> Dict[str, Tensor]:
        """Word-region alignment loss of a batch of image-caption pairs
        (DetCLIPv2): each image's regions are its ``caption_topk``
        best-scoring RPN proposals, embedded by the box head's branch.

        Args:
            x (tuple[Tensor]): Neck outputs.
            rpn_results_list (list[:obj:`InstanceData`]): Per image, the
                RPN's proposals (``bboxes`` (n, 4), highest score first).
            batch_data_samples (list[:obj:`DetDataSample`]): With
                ``metainfo['phrases']``.

        Returns:
            dict[str, Tensor]: ``loss_word_region``.
        """
        head = self.bbox_head
        K = head.caption_topk
        proposals = [r.bboxes[:K].detach() for r in rpn_results_list]
        counts = [len(p) for p in proposals]
        emb = self.word_region_embeddings(
            x, proposals, 'a caption batch (samples with metainfo["phrases"])')
        B, D = len(proposals), emb.size(-1)
        regions = emb.new_zeros(B, K, D)
        region_mask = torch.zeros(B, K, dtype=torch.bool, device=emb.device)
        for i, part in enumerate(emb.split(counts)):
            regions[i, :len(part)] = part
            region_mask[i, :len(part)] = True
        phrase_emb, phrase_mask = caption_phrase_batch(
            head.text_bank, batch_data_samples, regions)
        return dict(loss_word_region=head.loss_word_region(
            regions, region_mask, phrase_emb, phrase_mask))

    def loss_by_grounding(self, x: Tuple[Tensor],
                          batch_data_samples: SampleList
                          ) -> Dict[str, Tensor]:
        """``loss_grounding`` of a grounding batch: each box is its own RoI
        (the KNOWN region of its phrase), embedded by the box head's branch
        and contrasted with the batch's phrases
        (:meth:`WordRegionAlignmentLoss.grounded`). The detection losses on
        the same boxes are the stock ones (:class:`HybridFasterRCNN`).

        Args:
            x (tuple[Tensor]): Neck outputs.
            batch_data_samples (list[:obj:`DetDataSample`]): Grounding
                samples (``gt_instances.bboxes`` (n_i, 4),
                ``gt_instances.labels`` = phrase indices,
                ``metainfo['phrases']``).

        Returns:
            dict[str, Tensor]: ``loss_grounding``.
        """
        head = self.bbox_head
        regions = self.word_region_embeddings(
            x, [s.gt_instances.bboxes for s in batch_data_samples],
            'a grounding batch (samples with metainfo["phrase_labels"])')
        phrases, targets = grounding_phrase_targets(
            head.text_bank, batch_data_samples, regions)
        return dict(loss_grounding=head.loss_word_region.grounded(
            regions, torch.cat(targets), phrases))
