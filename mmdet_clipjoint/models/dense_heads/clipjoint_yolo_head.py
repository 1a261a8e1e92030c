# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""YOLO11 head (the paper's one-stage detector) with the contrastive branch."""
from typing import List, Optional, Sequence, Tuple

import torch
from mmengine.config import ConfigDict
from torch import Tensor

from mmdet.registry import MODELS
from mmdet.utils import InstanceList, OptInstanceList
from .clipjoint_dense_mixin import ClipJointDenseMixin
from .yolo11_head import YOLO11Head

__all__ = ['ClipJointYOLOHead']

#: arguments of RTMDet heads that YOLO11's does not have: a config that
#: passes them was written when this name belonged to the RTMDet head
_RTMDET_ARGS = ('stacked_convs', 'feat_channels', 'share_conv',
                'pred_kernel_size', 'exp_on_reg', 'with_objectness',
                'anchor_generator', 'bbox_coder')


@MODELS.register_module()
class ClipJointYOLOHead(ClipJointDenseMixin, YOLO11Head):
    """CLIP-Joint-Detect on YOLO11's head, the paper's one-stage setting.

    Everything of :class:`YOLO11Head` is kept (layers, task-aligned
    assignment, BCE / CIoU / DFL losses, post-processing); the branch
    (:class:`ClipJointDenseMixin`) taps the class branch's ``c3``-wide
    feature, the input of the last 1x1 classifier conv:

    * :meth:`forward_single` also returns that feature; :meth:`forward`
      returns the per-level features as a third output while training and
      in ``clip`` / ``fuse`` mode, and exactly the stock outputs in ``det``
      mode at inference;
    * :meth:`loss_by_feat` runs the stock one, recording its assignment
      (positives weighted by their soft targets, as the host's BCE), and
      adds ``loss_contrast`` / ``loss_clip_ce``, multiplied by the batch
      size like the host's losses (``scale_loss_by_batch``);
    * :meth:`predict_by_feat` fuses the scores, then runs the stock one.

    Up to version 0.1 this name was the RTMDet head, now
    :class:`ClipJointRTMDetHead`; a config that passes RTMDet arguments
    under this name gets an error naming the new one.

    Constructor arguments: :meth:`ClipJointDenseMixin.__init__` (the
    branch's), the rest are passed to :class:`YOLO11Head`.
    """

    def __init__(self, *args, **kwargs) -> None:
        legacy = sorted(set(kwargs) & set(_RTMDET_ARGS))
        if legacy:
            raise ValueError(
                'ClipJointYOLOHead is the head of YOLO11 (the paper\'s YOLO); '
                'the RTMDet head with the contrastive branch is now called '
                "ClipJointRTMDetHead: set type='ClipJointRTMDetHead' in this "
                f'config (it passes RTMDet arguments: {", ".join(legacy)}). '
                'Checkpoints trained under the old name load into it '
                'unchanged.')
        super().__init__(*args, **kwargs)

    def forward_single(self, x: Tensor,
                       idx: int) -> Tuple[Tensor, Tensor, Tensor]:
        """One level of :meth:`YOLO11Head.forward`.

        Args:
            x (Tensor): Level ``idx`` features, shape (B, C_in, H, W).
            idx (int): Level index.

        Returns:
            tuple[Tensor]: ``cls_score`` (B, C, H, W), ``bbox_dist``
            (B, 4 * reg_max, H, W) and the classifier's input
            (B, feat_channels, H, W).
        """
        cls_feat, branch_feat = self.fork_cls_feat(self.cls_convs[idx](x))
        return (self.cls_preds[idx](cls_feat),
                self.reg_preds[idx](self.reg_convs[idx](x)), branch_feat)

    def forward(self, feats: Tuple[Tensor, ...]) -> tuple:
        """Forward all levels.

        Args:
            feats (tuple[Tensor]): Neck outputs, each (B, C_l, H_l, W_l).

        Returns:
            tuple: ``cls_scores`` and ``bbox_dists`` (as the stock head),
            plus ``cls_feats`` (per level (B, feat_channels, H_l, W_l))
            unless in ``det`` mode at inference.
        """
        return self.forward_levels(feats)

    def loss_by_feat(self,
                     cls_scores: List[Tensor],
                     bbox_dists: List[Tensor],
                     cls_feats: List[Tensor],
                     batch_gt_instances: InstanceList,
                     batch_img_metas: List[dict],
                     batch_gt_instances_ignore: OptInstanceList = None):
        """Stock losses plus ``loss_contrast`` / ``loss_clip_ce``.

        Args:
            cls_scores (list[Tensor]): per level (B, C, H, W).
            bbox_dists (list[Tensor]): per level (B, 4 * reg_max, H, W).
            cls_feats (list[Tensor]): per level (B, feat_channels, H, W).
            batch_gt_instances (list[:obj:`InstanceData`]): ground truth.
            batch_img_metas (list[dict]): image metas.
            batch_gt_instances_ignore (list, optional): unused.

        Returns:
            dict[str, Tensor]: ``loss_cls``, ``loss_bbox``, ``loss_dfl``
            (stock), ``loss_contrast``, ``loss_clip_ce``, ``acc_clip``.
        """
        losses = self._loss_by_feat_with_branch(
            (cls_scores, bbox_dists), cls_feats, batch_gt_instances,
            batch_img_metas, batch_gt_instances_ignore)
        if self.scale_loss_by_batch:
            for k in ('loss_contrast', 'loss_clip_ce'):
                if k in losses:
                    losses[k] = losses[k] * len(batch_img_metas)
        return losses

    def _dense_targets(self, records: List[tuple], cls_scores: List[Tensor],
                       bbox_dists: List[Tensor]) -> Tuple[Tensor, ...]:
        """YOLO11's task-aligned assignment as branch targets.

        Args:
            records (list[tuple]): per image ``(labels, label_weights,
                bbox_targets, target_scores)`` over all N priors.
            cls_scores (list[Tensor]): per level (B, C, H, W) logits.
            bbox_dists (list[Tensor]): unused.

        Returns:
            tuple[Tensor]: ``labels`` (B, N) in ``[0, C]``, ``quality``
            (B, N) (the soft targets), ``valid`` (B, N) bool and
            ``hardness`` (B, N), the detached max class logit.
        """
        labels = torch.stack([r[0] for r in records])
        valid = torch.stack([r[1] for r in records]) > 0
        quality = torch.stack([r[3] for r in records])
        with torch.no_grad():
            hardness = self.flatten_levels(cls_scores).max(-1)[0]
        return labels, quality, valid, hardness

    def predict_by_feat(self,
                        cls_scores: List[Tensor],
                        bbox_dists: List[Tensor],
                        cls_feats: Optional[Sequence[Tensor]] = None,
                        batch_img_metas: Optional[List[dict]] = None,
                        cfg: Optional[ConfigDict] = None,
                        rescale: bool = False,
                        with_nms: bool = True) -> InstanceList:
        """Fuse the scores (``score_mode``), then the stock post-process.

        Args:
            cls_scores (list[Tensor]): per level (B, C, H, W) logits.
            bbox_dists (list[Tensor]): per level (B, 4 * reg_max, H, W).
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
                cls_scores, bbox_dists, batch_img_metas=batch_img_metas,
                cfg=cfg, rescale=rescale, with_nms=with_nms)
