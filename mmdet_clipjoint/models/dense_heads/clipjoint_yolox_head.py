# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""YOLOX head with a parallel contrastive branch."""
from typing import List, Sequence, Tuple

import torch
from torch import Tensor

from mmdet.models.dense_heads import YOLOXHead
from mmdet.registry import MODELS
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

    stock_outputs = ('cls_scores', 'bbox_preds', 'objectnesses')

    def forward_single(self, x: Tensor, idx: int, bound: bool = True
                       ) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
        """One level; the stock outputs plus the ``conv_cls`` input.

        Args:
            x, idx, bound: As in :meth:`ClipJointDenseMixin.forward_single`
                (``x``: (B, C_in, H, W)).

        Returns:
            tuple[Tensor]: ``cls_score`` (B, C, H, W), ``bbox_pred``
            (B, 4, H, W), ``objectness`` (B, 1, H, W) and ``cls_feat``
            (B, feat_channels, H, W).
        """
        cls_feat, branch_feat = self.branch.fork(
            self.multi_level_cls_convs[idx](x), bound)
        reg_feat = self.multi_level_reg_convs[idx](x)
        return (self.multi_level_conv_cls[idx](cls_feat),
                self.multi_level_conv_reg[idx](reg_feat),
                self.multi_level_conv_obj[idx](reg_feat), branch_feat)

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

    def score_factors(self, stock_outs: tuple) -> Sequence[Tensor]:
        """The objectness logits, per level (B, 1, H, W): the stock
        post-process multiplies the class scores by their sigmoid."""
        return stock_outs[2]
