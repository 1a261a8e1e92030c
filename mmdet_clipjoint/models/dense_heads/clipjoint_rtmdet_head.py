# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""RTMDet head (``RTMDetSepBNHead``) with a parallel contrastive branch."""
from typing import List, Optional, Sequence, Tuple

import torch
from mmengine.config import ConfigDict
from torch import Tensor

from mmdet.models.dense_heads import RTMDetSepBNHead
from mmdet.models.layers.transformer import inverse_sigmoid
from mmdet.models.utils import sigmoid_geometric_mean
from mmdet.registry import MODELS
from mmdet.utils import InstanceList, OptInstanceList
from .clipjoint_dense_mixin import ClipJointDenseMixin

__all__ = ['ClipJointRTMDetHead']


@MODELS.register_module()
class ClipJointRTMDetHead(ClipJointDenseMixin, RTMDetSepBNHead):
    """CLIP-Joint-Detect on the stock RTMDet head.

    Everything of :class:`RTMDetSepBNHead` is kept (layers, dynamic
    soft-label assignment, QFL / GIoU losses, post-processing); what changes
    (see :class:`ClipJointDenseMixin` for the branch itself):

    * :meth:`forward_single` also returns the feature that feeds
      ``rtm_cls``; :meth:`forward` returns the per-level features as a
      third output while training and in ``clip`` / ``fuse`` mode, and
      exactly the stock outputs in ``det`` mode at inference;
    * :meth:`loss_by_feat` runs the stock one, recording its assignment, and
      adds ``loss_contrast`` / ``loss_clip_ce``;
    * :meth:`predict_by_feat` fuses the scores, then runs the stock one.

    Constructor arguments: :meth:`ClipJointDenseMixin.__init__` (the
    branch's), the rest are passed to :class:`RTMDetSepBNHead`.
    """

    def forward_single(self, x: Tensor,
                       idx: int) -> Tuple[Tensor, Tensor, Tensor]:
        """One level of :meth:`RTMDetSepBNHead.forward`.

        Args:
            x (Tensor): Level ``idx`` features, shape (B, C_in, H, W).
            idx (int): Level index.

        Returns:
            tuple[Tensor]: ``cls_score`` (B, C, H, W), ``bbox_pred``
            (B, 4, H, W) and the ``rtm_cls`` input (B, feat_channels, H, W).
        """
        stride = self.prior_generator.strides[idx]
        cls_feat = x
        reg_feat = x
        for cls_layer in self.cls_convs[idx]:
            cls_feat = cls_layer(cls_feat)
        cls_feat, branch_feat = self.fork_cls_feat(cls_feat)
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

    def forward(self, feats: Tuple[Tensor, ...]) -> tuple:
        """Forward all levels.

        Args:
            feats (tuple[Tensor]): Neck outputs, each (B, C_in, H_l, W_l).

        Returns:
            tuple: ``cls_scores`` and ``bbox_preds`` (as the stock head),
            plus ``cls_feats`` (per level (B, feat_channels, H_l, W_l))
            unless in ``det`` mode at inference.
        """
        return self.forward_levels(feats)

    def loss_by_feat(self,
                     cls_scores: List[Tensor],
                     bbox_preds: List[Tensor],
                     cls_feats: List[Tensor],
                     batch_gt_instances: InstanceList,
                     batch_img_metas: List[dict],
                     batch_gt_instances_ignore: OptInstanceList = None):
        """Stock losses plus ``loss_contrast`` / ``loss_clip_ce``.

        Args:
            cls_scores (list[Tensor]): per level (B, C, H, W).
            bbox_preds (list[Tensor]): per level (B, 4, H, W), decoded
                distances.
            cls_feats (list[Tensor]): per level (B, feat_channels, H, W).
            batch_gt_instances (list[:obj:`InstanceData`]): ground truth.
            batch_img_metas (list[dict]): image metas.
            batch_gt_instances_ignore (list[:obj:`InstanceData`],
                optional): ignored instances.

        Returns:
            dict[str, Tensor]: ``loss_cls``, ``loss_bbox`` (stock, per
            level), ``loss_contrast``, ``loss_clip_ce``, ``acc_clip``.
        """
        return self._loss_by_feat_with_branch(
            (cls_scores, bbox_preds), cls_feats, batch_gt_instances,
            batch_img_metas, batch_gt_instances_ignore)

    def _dense_targets(self, records: List[tuple], cls_scores: List[Tensor],
                       bbox_preds: List[Tensor]) -> Tuple[Tensor, ...]:
        """RTMDet's dynamic soft-label assignment as branch targets.

        Args:
            records (list[tuple]): per image ``(anchors, labels,
                label_weights, bbox_targets, assign_metrics,
                sampling_result)`` over all N priors.
            cls_scores (list[Tensor]): per level (B, C, H, W) logits.
            bbox_preds (list[Tensor]): per level (B, 4, H, W); unused.

        Returns:
            tuple[Tensor]: ``labels`` (B, N) in ``[0, C]``, ``quality``
            (B, N) (the assign metrics, QFL's soft label), ``valid`` (B, N)
            bool and ``hardness`` (B, N), the detached max class logit.
        """
        labels = torch.stack([r[1] for r in records])
        valid = torch.stack([r[2] for r in records]) > 0
        quality = torch.stack([r[4] for r in records])
        with torch.no_grad():
            hardness = self.flatten_levels(cls_scores).max(-1)[0]
        return labels, quality, valid, hardness

    def predict_by_feat(self,
                        cls_scores: List[Tensor],
                        bbox_preds: List[Tensor],
                        cls_feats: Optional[Sequence[Tensor]] = None,
                        batch_img_metas: Optional[List[dict]] = None,
                        cfg: Optional[ConfigDict] = None,
                        rescale: bool = False,
                        with_nms: bool = True) -> InstanceList:
        """Fuse the scores (``score_mode``), then the stock post-process.

        Args:
            cls_scores (list[Tensor]): per level (B, C, H, W) logits.
            bbox_preds (list[Tensor]): per level (B, 4, H, W).
            cls_feats (list[Tensor], optional): per level
                (B, feat_channels, H, W); None in ``det`` mode.
            batch_img_metas (list[dict]): image metas.
            cfg (ConfigDict, optional): test config.
            rescale (bool): rescale boxes to the original image.
            with_nms (bool): run NMS.

        Returns:
            list[:obj:`InstanceData`]: ``bboxes`` (n, 4), ``scores`` (n,)
            and ``labels`` (n,) per image.
        """
        cfg = cfg if cfg is not None else self.test_cfg
        cls_scores = self.fuse_mlvl_scores(cls_scores, cls_feats,
                                           cfg.get('score_thr', 0.0))
        with self.vocabulary_label_space():
            return super().predict_by_feat(
                cls_scores, bbox_preds, batch_img_metas=batch_img_metas,
                cfg=cfg, rescale=rescale, with_nms=with_nms)
