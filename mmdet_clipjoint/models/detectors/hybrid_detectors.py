# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Hybrid detectors: stock one-stage (RTMDet, YOLOX, YOLO11) and two-stage
(Faster R-CNN) detectors that also train on image-caption batches
(DetCLIPv2's hybrid detection + caption supervision)."""
from typing import Dict, Union

import torch
from torch import Tensor

from mmdet.models.detectors import (FasterRCNN, RTMDet,
                                    SingleStageDetector, YOLOX)
from mmdet.registry import MODELS
from mmdet.structures import SampleList

__all__ = [
    'CaptionBatchMixin', 'HybridRTMDet', 'HybridYOLOX',
    'HybridSingleStageDetector', 'HybridFasterRCNN'
]


class CaptionBatchMixin:
    """Route caption batches to the head's word-region loss.

    Hybrid training alternates batches of box-labelled images and batches
    of image-caption pairs in one runner (mmdet's ``ConcatDataset`` +
    ``MultiDataSampler`` + ``MultiDataAspectRatioBatchSampler``: each batch
    comes from one dataset). A caption sample carries
    ``metainfo['phrases']`` (:class:`CaptionPhraseDataset`); a batch of them
    goes to :meth:`caption_loss`, any other batch to the stock loss.

    :meth:`caption_loss` here serves the one-stage detectors (the dense
    head's ``loss_by_captions``, :class:`ClipJointDenseMixin`);
    :class:`HybridFasterRCNN` overrides it for the two-stage one (RPN
    proposals, then the RoI head's ``loss_by_captions``).
    """

    def caption_loss(self, x, batch_data_samples: SampleList) -> dict:
        """The word-region loss of a caption batch; the regions are the
        dense head's top-scoring locations (one-stage detectors).

        Args:
            x (tuple[Tensor]): Neck features, each (B, C, H_i, W_i).
            batch_data_samples (list[:obj:`DetDataSample`]): Caption
                samples (``metainfo['phrases']``).

        Returns:
            dict[str, Tensor]: ``loss_word_region``.
        """
        return self.bbox_head.loss_by_captions(x, batch_data_samples)

    def loss(self, batch_inputs: Tensor,
             batch_data_samples: SampleList) -> Union[dict, list]:
        """Detection losses, or ``loss_word_region`` on a caption batch.

        Args:
            batch_inputs (Tensor): (B, 3, H, W) images.
            batch_data_samples (list[:obj:`DetDataSample`]): Their samples.

        Returns:
            dict[str, Tensor]: The losses.

        Raises:
            ValueError: a batch mixing caption and box samples (use the
                per-dataset batch sampler).
        """
        kinds = {'phrases' in s.metainfo for s in batch_data_samples}
        if kinds == {True}:
            x = self.extract_feat(batch_inputs)
            losses: Dict[str, Tensor] = self.caption_loss(
                x, batch_data_samples)
            return losses
        if len(kinds) > 1:
            raise ValueError(
                'a training batch mixes caption samples (metainfo '
                '"phrases") and box-labelled ones: batch them separately '
                "with batch_sampler=dict(type='MultiDataAspectRatioBatch"
                "Sampler', num_datasets=2) over a ConcatDataset.")
        return super().loss(batch_inputs, batch_data_samples)


@MODELS.register_module()
class HybridRTMDet(CaptionBatchMixin, RTMDet):
    """:class:`~mmdet.models.detectors.RTMDet` with caption batches."""


@MODELS.register_module()
class HybridYOLOX(CaptionBatchMixin, YOLOX):
    """:class:`~mmdet.models.detectors.YOLOX` with caption batches."""


@MODELS.register_module()
class HybridSingleStageDetector(CaptionBatchMixin, SingleStageDetector):
    """A :class:`SingleStageDetector` (e.g. YOLO11) with caption batches."""


@MODELS.register_module()
class HybridFasterRCNN(CaptionBatchMixin, FasterRCNN):
    """:class:`~mmdet.models.detectors.FasterRCNN` with caption batches:
    the regions of a caption image are its best RPN proposals."""

    def caption_loss(self, x, batch_data_samples: SampleList) -> dict:
        """RPN proposals (no RPN loss: a caption image has no boxes), then
        :meth:`ClipJointRoIHead.loss_by_captions`."""
        with torch.no_grad():
            rpn_results_list = self.rpn_head.predict(
                x, batch_data_samples, rescale=False)
        return self.roi_head.loss_by_captions(x, rpn_results_list,
                                              batch_data_samples)
