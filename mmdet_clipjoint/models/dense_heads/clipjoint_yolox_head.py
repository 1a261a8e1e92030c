# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""YOLOX head with a parallel contrastive branch."""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.config import ConfigDict
from torch import Tensor

from mmdet.models.dense_heads import YOLOXHead
from mmdet.registry import MODELS
from mmdet.utils import InstanceList, OptInstanceList
from .clipjoint_dense_mixin import ClipJointDenseMixin

__all__ = ['ClipJointYOLOXHead']


@MODELS.register_module()
class ClipJointYOLOXHead(ClipJointDenseMixin, YOLOXHead):
    """CLIP-Joint-Detect on the stock YOLOX head.

    The same branch as :class:`ClipJointRTMDetHead` (see
    :class:`ClipJointDenseMixin`), fed by the output of ``cls_convs`` (the
    input of ``conv_cls``). SimOTA assignment, the stock losses (cls, obj,
    IoU, L1) and the post-process are unchanged; the positives' quality is
    the IoU in YOLOX's IoU-aware class target. At inference ``clip`` /
    ``fuse`` replace the class probabilities, which the stock
    ``predict_by_feat`` still multiplies by the objectness.

    Constructor arguments: :meth:`ClipJointDenseMixin.__init__` (the
    branch's), the rest are passed to :class:`YOLOXHead`.
    """

    def forward_single(self, x: Tensor, cls_convs: nn.Module,
                       reg_convs: nn.Module, conv_cls: nn.Module,
                       conv_reg: nn.Module, conv_obj: nn.Module
                       ) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
        """One level; the stock outputs plus the ``conv_cls`` input.

        Args:
            x (Tensor): Features of one level, shape (B, C_in, H, W).

        Returns:
            tuple[Tensor]: ``cls_score`` (B, C, H, W), ``bbox_pred``
            (B, 4, H, W), ``objectness`` (B, 1, H, W) and ``cls_feat``
            (B, feat_channels, H, W).
        """
        cls_feat, branch_feat = self.fork_cls_feat(cls_convs(x))
        reg_feat = reg_convs(x)
        return conv_cls(cls_feat), conv_reg(reg_feat), conv_obj(
            reg_feat), branch_feat

    def forward(self, x: Tuple[Tensor]) -> tuple:
        """Forward all levels.

        Args:
            x (tuple[Tensor]): Neck outputs, each (B, C_in, H_l, W_l).

        Returns:
            tuple[list[Tensor]]: the stock ``cls_scores``, ``bbox_preds``,
            ``objectnesses``, plus ``cls_feats`` unless in ``det`` mode at
            inference.
        """
        outs = super().forward(x)
        return outs if self.needs_embed else outs[:3]

    def loss_by_feat(self,
                     cls_scores: Sequence[Tensor],
                     bbox_preds: Sequence[Tensor],
                     objectnesses: Sequence[Tensor],
                     cls_feats: Sequence[Tensor],
                     batch_gt_instances: InstanceList,
                     batch_img_metas: Sequence[dict],
                     batch_gt_instances_ignore: OptInstanceList = None
                     ) -> dict:
        """Stock YOLOX losses plus ``loss_contrast`` / ``loss_clip_ce``.

        Args:
            cls_scores, bbox_preds, objectnesses (Sequence[Tensor]): the
                stock outputs, per level (B, C | 4 | 1, H, W).
            cls_feats (Sequence[Tensor]): per level (B, feat_channels, H, W).
            batch_gt_instances, batch_img_metas, batch_gt_instances_ignore:
                as in :meth:`YOLOXHead.loss_by_feat`.

        Returns:
            dict[str, Tensor]: the stock losses, ``loss_contrast``,
            ``loss_clip_ce`` and ``acc_clip``.
        """
        return self._loss_by_feat_with_branch(
            (cls_scores, bbox_preds, objectnesses), cls_feats,
            batch_gt_instances, batch_img_metas, batch_gt_instances_ignore)

    def _dense_targets(self, records: List[tuple],
                       cls_scores: Sequence[Tensor],
                       bbox_preds: Sequence[Tensor],
                       objectnesses: Sequence[Tensor]) -> Tuple[Tensor, ...]:
        """SimOTA's assignment as branch targets.

        Args:
            records (list[tuple]): per image ``(foreground_mask (N,),
                cls_target (P_i, C) = one-hot * IoU, obj_target,
                bbox_target, l1_target, num_pos)``.
            cls_scores (Sequence[Tensor]): per level (B, C, H, W) logits.
            bbox_preds (Sequence[Tensor]): per level (B, 4, H, W); unused.
            objectnesses (Sequence[Tensor]): per level (B, 1, H, W) logits.

        Returns:
            tuple[Tensor]: ``labels`` (B, N) in ``[0, C]``, ``quality``
            (B, N) (the IoU of the positives), ``valid`` (B, N) bool and
            ``hardness`` (B, N), the detached detector score.
        """
        fg = torch.stack([r[0] for r in records])  # (B, N)
        cls_target = torch.cat([r[1] for r in records])  # (P, C)
        quality = fg.new_zeros(fg.shape, dtype=cls_target.dtype)
        labels = torch.full_like(fg, self.num_classes, dtype=torch.long)
        if len(cls_target):
            quality[fg], labels[fg] = cls_target.max(-1)
        # a positive of IoU 0 has an all-zero target: its class is unknown,
        # so it is neither a positive nor a negative of the branch
        valid = ~fg | (quality > 0)
        labels[~valid] = self.num_classes
        with torch.no_grad():
            hardness = self.flatten_levels(cls_scores).sigmoid().max(-1)[0] \
                * self.flatten_levels(objectnesses)[..., 0].sigmoid()
        return labels, quality, valid, hardness

    def caption_region_scores(self, outs: tuple) -> Tensor:
        """``max_c sigmoid(cls) * sigmoid(objectness)`` per location, (B, N),
        detached (YOLOX's own detection score)."""
        cls = self.flatten_levels(outs[0]).detach().sigmoid().max(-1)[0]
        return cls * self.flatten_levels(outs[2]).detach()[..., 0].sigmoid()

    def predict_by_feat(self,
                        cls_scores: List[Tensor],
                        bbox_preds: List[Tensor],
                        objectnesses: Optional[List[Tensor]],
                        cls_feats: Optional[Sequence[Tensor]] = None,
                        batch_img_metas: Optional[List[dict]] = None,
                        cfg: Optional[ConfigDict] = None,
                        rescale: bool = False,
                        with_nms: bool = True) -> InstanceList:
        """Fuse the class scores (``score_mode``), then the stock
        post-process (which multiplies them by the objectness).

        Args:
            cls_scores, bbox_preds, objectnesses (list[Tensor]): the stock
                outputs, per level (B, C | 4 | 1, H, W); ``cls_scores`` are
                logits.
            cls_feats (list[Tensor], optional): per level
                (B, feat_channels, H, W); None in ``det`` mode.
            batch_img_metas, cfg, rescale, with_nms: as in
                :meth:`YOLOXHead.predict_by_feat`.

        Returns:
            list[:obj:`InstanceData`]: per image, ``bboxes`` (n, 4),
            ``scores`` (n,) and ``labels`` (n,).
        """
        cfg = cfg if cfg is not None else self.test_cfg
        cls_scores = self.fuse_mlvl_scores(
            cls_scores, cls_feats, cfg.get('score_thr', 0.0),
            score_factors=objectnesses)
        with self.vocabulary_label_space():
            return super().predict_by_feat(
                cls_scores, bbox_preds, objectnesses,
                batch_img_metas=batch_img_metas, cfg=cfg, rescale=rescale,
                with_nms=with_nms)
