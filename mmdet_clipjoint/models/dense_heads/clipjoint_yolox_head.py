# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""YOLOX head with a parallel contrastive branch."""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.config import ConfigDict
from torch import Tensor

from mmdet.models.dense_heads import YOLOXHead
from mmdet.registry import MODELS
from mmdet.utils import ConfigType, InstanceList, OptConfigType, \
    OptInstanceList
from .clipjoint_dense_mixin import ClipJointDenseMixin

__all__ = ['ClipJointYOLOXHead']


@MODELS.register_module()
class ClipJointYOLOXHead(ClipJointDenseMixin, YOLOXHead):
    """CLIP-Joint-Detect on the stock YOLOX head.

    The same branch as :class:`ClipJointYOLOHead` (see
    :class:`ClipJointDenseMixin`), fed by the output of ``cls_convs`` (the
    input of ``conv_cls``). SimOTA assignment, the stock losses (cls, obj,
    IoU, L1) and the post-process are unchanged; the positives' quality is
    the IoU in YOLOX's IoU-aware class target. At inference ``clip`` /
    ``fuse`` replace the class probabilities, which the stock
    ``predict_by_feat`` still multiplies by the objectness.

    Args:
        num_classes (int): Number of foreground classes C.
        in_channels (int): Channels of the input feature maps.
        text_bank (dict): Config of a :class:`ContrastiveTextBank`.
        proj_hidden (int): Hidden width of the 1x1-conv projection.
        loss_contrast (dict): Config of the InfoNCE loss.
        loss_aux (dict, optional): Config of the auxiliary CE of the mined
            negatives towards the bank's background entry (None: off).
        quality_weight (bool): Weight positives by their IoU target.
        neg_pos_ratio (int): Mined hard negatives per positive (at least
            per image).
        max_grad_share (float, optional): Bound of the branch's gradient
            into the trunk relative to the host classifier's, at the
            classifier feature (None: unbounded).
        score_mode (str): ``det`` (default), ``clip`` or ``fuse``.
        fuse_alpha (float): Weight of the contrastive probabilities in
            ``fuse`` mode.
        **kwargs: Passed to :class:`YOLOXHead`.
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 text_bank: ConfigType,
                 proj_hidden: int = 256,
                 loss_contrast: ConfigType = dict(
                     type='InfoNCELoss', loss_weight=1.0),
                 loss_aux: OptConfigType = dict(
                     type='CrossEntropyLoss', use_sigmoid=False,
                     loss_weight=1.0),
                 quality_weight: bool = True,
                 neg_pos_ratio: int = 3,
                 max_grad_share: Optional[float] = 1.0,
                 score_mode: str = 'det',
                 fuse_alpha: float = 0.5,
                 **kwargs) -> None:
        super().__init__(num_classes, in_channels, **kwargs)
        self._init_clipjoint(text_bank, self.feat_channels, proj_hidden,
                             loss_contrast, loss_aux, quality_weight,
                             neg_pos_ratio, max_grad_share, score_mode,
                             fuse_alpha)

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
            cls_scores (Sequence[Tensor]): per level (B, C, H, W).
            bbox_preds (Sequence[Tensor]): per level (B, 4, H, W).
            objectnesses (Sequence[Tensor]): per level (B, 1, H, W).
            cls_feats (Sequence[Tensor]): per level (B, feat_channels, H, W).
            batch_gt_instances (list[:obj:`InstanceData`]): ground truth.
            batch_img_metas (list[dict]): image metas.
            batch_gt_instances_ignore (list[:obj:`InstanceData`],
                optional): ignored instances.

        Returns:
            dict[str, Tensor]: the stock losses, ``loss_contrast``,
            ``loss_clip_ce`` and ``acc_clip``.
        """
        with self._record_targets() as records:
            losses = super().loss_by_feat(cls_scores, bbox_preds,
                                          objectnesses, batch_gt_instances,
                                          batch_img_metas,
                                          batch_gt_instances_ignore)
        # per image: (foreground_mask (N,), cls_target (P_i, C) = one-hot *
        #             IoU, obj_target, bbox_target, l1_target, num_pos)
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
        losses.update(
            self.loss_clipjoint(cls_feats, labels, quality, valid, hardness))
        return losses

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
            cls_scores (list[Tensor]): per level (B, C, H, W) logits.
            bbox_preds (list[Tensor]): per level (B, 4, H, W).
            objectnesses (list[Tensor]): per level (B, 1, H, W).
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
        cls_scores = self.fuse_mlvl_scores(cls_scores, cls_feats)
        return super().predict_by_feat(
            cls_scores, bbox_preds, objectnesses,
            batch_img_metas=batch_img_metas, cfg=cfg, rescale=rescale,
            with_nms=with_nms)
