# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Hybrid detectors: stock one-stage (RTMDet, YOLOX, YOLO11) and two-stage
(Faster R-CNN) detectors that also train on grounding and image-caption
batches (DetCLIPv2's hybrid detection + grounding + caption supervision)."""
from contextlib import contextmanager
from typing import Dict, Iterator, Optional, Tuple, Union

import torch
from torch import Tensor

from mmdet.models.detectors import (FasterRCNN, RTMDet,
                                    SingleStageDetector, YOLOX)
from mmdet.registry import MODELS
from mmdet.structures import SampleList
from ..utils.grounding import grounding_detection_samples, sample_kind

__all__ = [
    'CaptionBatchMixin', 'HybridRTMDet', 'HybridYOLOX',
    'HybridSingleStageDetector', 'HybridFasterRCNN'
]


class CaptionBatchMixin:
    """Route grounding and caption batches to their losses.

    Hybrid training alternates batches of box-labelled images, grounding
    images (phrases with their boxes) and image-caption pairs in one runner
    (mmdet's ``ConcatDataset`` + ``MultiDataSampler`` +
    ``MultiDataAspectRatioBatchSampler``: each batch comes from one
    dataset). The kind of a sample (:func:`sample_kind`): ``grounding``
    with ``metainfo['phrase_labels']`` (:class:`GroundingPhraseDataset`),
    ``caption`` with ``metainfo['phrases']`` only
    (:class:`CaptionPhraseDataset`), else ``detection``. A grounding batch
    goes to :meth:`grounding_loss` (the detection losses on its boxes plus
    the word-region loss on their known regions), a caption batch to
    :meth:`caption_loss`, any other to the stock loss.

    :meth:`caption_loss` / :meth:`grounding_loss` here serve the one-stage
    detectors (the dense head's ``loss_by_captions`` /
    ``loss_by_grounding``, :class:`ClipJointDenseMixin`);
    :class:`HybridFasterRCNN` overrides them for the two-stage one.
    """

    #: neck features handed to the stock ``loss`` by :meth:`given_features`
    _given_feats: Optional[Tuple[Tensor, ...]] = None

    @contextmanager
    def given_features(self, x: Tuple[Tensor, ...]) -> Iterator[None]:
        """Inside the block, :meth:`extract_feat` returns ``x`` (the stock
        ``loss`` then runs on features already computed)."""
        self._given_feats = x
        try:
            yield
        finally:
            self._given_feats = None

    def extract_feat(self, batch_inputs: Tensor) -> Tuple[Tensor, ...]:
        """The stock features, or those of :meth:`given_features`."""
        if self._given_feats is not None:
            return self._given_feats
        return super().extract_feat(batch_inputs)

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

    def grounding_loss(self, x, batch_data_samples: SampleList) -> dict:
        """Detection losses on a grounding batch's boxes plus
        ``loss_grounding`` (one-stage: the dense head's
        ``loss_by_grounding``, the box's regions are its assigned positive
        locations).

        Args:
            x (tuple[Tensor]): Neck features, each (B, C, H_i, W_i).
            batch_data_samples (list[:obj:`DetDataSample`]): Grounding
                samples.

        Returns:
            dict[str, Tensor]: the stock losses and ``loss_grounding``.
        """
        return self.bbox_head.loss_by_grounding(x, batch_data_samples)

    def loss(self, batch_inputs: Tensor,
             batch_data_samples: SampleList) -> Union[dict, list]:
        """Detection losses, the grounding losses on a grounding batch, or
        ``loss_word_region`` on a caption batch.

        Args:
            batch_inputs (Tensor): (B, 3, H, W) images.
            batch_data_samples (list[:obj:`DetDataSample`]): Their samples.

        Returns:
            dict[str, Tensor]: The losses.

        Raises:
            ValueError: a batch mixing kinds of samples (use the
                per-dataset batch sampler).
        """
        kinds = {sample_kind(s) for s in batch_data_samples}
        if len(kinds) > 1:
            raise ValueError(
                f'a training batch mixes {sorted(kinds)} samples (it mixes '
                'caption samples (metainfo "phrases"), grounding samples '
                '(metainfo "phrase_labels") or box-labelled ones): batch '
                "them separately with batch_sampler=dict(type='MultiData"
                "AspectRatioBatchSampler', num_datasets=<datasets>) over a "
                'ConcatDataset.')
        if kinds == {'caption'}:
            x = self.extract_feat(batch_inputs)
            losses: Dict[str, Tensor] = self.caption_loss(
                x, batch_data_samples)
            return losses
        if kinds == {'grounding'}:
            return self.grounding_loss(self.extract_feat(batch_inputs),
                                       batch_data_samples)
        return super().loss(batch_inputs, batch_data_samples)

    def stock_loss(self, x: Tuple[Tensor, ...],
                   batch_data_samples: SampleList) -> dict:
        """The stock detector's ``loss`` on features already computed."""
        with self.given_features(x):
            return super().loss(None, batch_data_samples)


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
    """:class:`~mmdet.models.detectors.FasterRCNN` with grounding and
    caption batches: the regions of a caption image are its best RPN
    proposals, those of a grounding image its boxes."""

    def grounding_loss(self, x, batch_data_samples: SampleList) -> dict:
        """The stock RPN and RoI losses on the boxes whose phrase names a
        class (:func:`grounding_detection_samples`; the others are ignored
        instances), then :meth:`ClipJointRoIHead.loss_by_grounding` with
        every box as its phrase's RoI."""
        det_samples, _ = grounding_detection_samples(batch_data_samples)
        losses = self.stock_loss(x, det_samples)
        losses.update(self.roi_head.loss_by_grounding(x, batch_data_samples))
        return losses

    def caption_loss(self, x, batch_data_samples: SampleList) -> dict:
        """RPN proposals (no RPN loss: a caption image has no boxes), then
        :meth:`ClipJointRoIHead.loss_by_captions`."""
        with torch.no_grad():
            rpn_results_list = self.rpn_head.predict(
                x, batch_data_samples, rescale=False)
        return self.roi_head.loss_by_captions(x, rpn_results_list,
                                              batch_data_samples)
