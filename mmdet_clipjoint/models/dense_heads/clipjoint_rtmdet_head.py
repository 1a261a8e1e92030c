# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""RTMDet head (``RTMDetSepBNHead``) with a parallel contrastive branch."""
from typing import Optional, Tuple

from mmengine.structures import InstanceData
from torch import Tensor

from mmdet.models.dense_heads import RTMDetSepBNHead
from mmdet.models.layers.transformer import inverse_sigmoid
from mmdet.models.utils import sigmoid_geometric_mean
from mmdet.registry import MODELS
from .clipjoint_dense_mixin import ClipJointDenseMixin

__all__ = ['ClipJointRTMDetHead']


@MODELS.register_module()
class ClipJointRTMDetHead(ClipJointDenseMixin, RTMDetSepBNHead):
    """CLIP-Joint-Detect on the stock RTMDet head.

    Everything of :class:`RTMDetSepBNHead` is kept (layers, dynamic
    soft-label assignment, QFL / GIoU losses, post-processing); what changes
    (see :class:`ClipJointDenseMixin` for the branch itself):

    * :meth:`forward_single` also returns the feature that feeds
      ``rtm_cls`` (forked by the branch);
    * the branch's targets come from RTMDet's recorded dynamic soft-label
      assignment (:attr:`target_fields`).

    ``forward`` / ``loss_by_feat`` / ``predict_by_feat`` are the mixin's.

    Constructor arguments: :meth:`ClipJointDenseMixin.__init__` (the
    branch's), ``honour_ignored`` (below), the rest are passed to
    :class:`RTMDetSepBNHead`.

    ``honour_ignored`` (bool, default False: the stock behaviour): give
    the ignored instances (``ignored_instances``: crowd boxes, and the
    boxes of grounding phrases without a class) mmdet's ignore meaning.
    RTMDet's dynamic soft-label assigner does not read them, so a location
    inside one is trained as background; with True, a background location
    whose prior centre lies inside an ignored box gets class-loss weight 0
    (it is neither a positive nor a negative, nor a mined negative of the
    branch).
    """

    def __init__(self, *args, honour_ignored: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not isinstance(honour_ignored, bool):
            raise TypeError(f'honour_ignored={honour_ignored!r} must be '
                            'True or False.')
        self.honour_ignored = honour_ignored

    #: RTMDet's per-image targets are ``(anchors, labels, label_weights,
    #: bbox_targets, assign_metrics, sampling_result)``: the assign
    #: metrics (QFL's soft label) are the quality
    target_fields = (1, 2, 4)

    def _get_targets_single(self,
                            cls_scores: Tensor,
                            bbox_preds: Tensor,
                            flat_anchors: Tensor,
                            valid_flags: Tensor,
                            gt_instances: InstanceData,
                            img_meta: dict,
                            gt_instances_ignore: Optional[
                                InstanceData] = None,
                            unmap_outputs: bool = True) -> tuple:
        """RTMDet's per-image targets (recorded by the mixin); with
        :attr:`honour_ignored`, the background priors (N, 4 ``(cx, cy,
        stride_w, stride_h)``) whose centre lies inside an ignored box get
        label weight 0 (in place, so the recorded targets agree)."""
        out = super()._get_targets_single(cls_scores, bbox_preds,
                                          flat_anchors, valid_flags,
                                          gt_instances, img_meta,
                                          gt_instances_ignore, unmap_outputs)
        if not (self.honour_ignored and gt_instances_ignore is not None
                and len(gt_instances_ignore) and out[0] is not None):
            return out
        anchors, labels, label_weights = out[0], out[1], out[2]
        boxes = gt_instances_ignore.bboxes  # (K, 4) x1, y1, x2, y2
        c = anchors[:, None, :2]  # (N, 1, 2)
        inside = ((c >= boxes[None, :, :2]) &
                  (c <= boxes[None, :, 2:])).all(-1).any(-1)  # (N,)
        label_weights[inside & (labels == self.num_classes)] = 0
        return out

    def forward_single(self, x: Tensor, idx: int,
                       bound: bool = True) -> Tuple[Tensor, Tensor, Tensor]:
        """One level of :meth:`RTMDetSepBNHead.forward`.

        Args:
            x, idx, bound: As in :meth:`ClipJointDenseMixin.forward_single`
                (``x``: (B, C_in, H, W)).

        Returns:
            tuple[Tensor]: ``cls_score`` (B, C, H, W), ``bbox_pred``
            (B, 4, H, W) and the ``rtm_cls`` input (B, feat_channels, H, W).
        """
        stride = self.prior_generator.strides[idx]
        cls_feat = x
        reg_feat = x
        for cls_layer in self.cls_convs[idx]:
            cls_feat = cls_layer(cls_feat)
        cls_feat, branch_feat = self.branch.fork(cls_feat, bound)
        cls_score = self.rtm_cls[idx](cls_feat)
        for reg_layer in self.reg_convs[idx]:
            reg_feat = reg_layer(reg_feat)
        if self.with_objectness:
            objectness = self.rtm_obj[idx](reg_feat)
            cls_score = inverse_sigmoid(
                sigmoid_geometric_mean(cls_score, objectness))
        if self.exp_on_reg:
            reg_dist = self.rtm_reg[idx](reg_feat).exp() * stride[0]
        else:
            reg_dist = self.rtm_reg[idx](reg_feat) * stride[0]
        return cls_score, reg_dist, branch_feat
