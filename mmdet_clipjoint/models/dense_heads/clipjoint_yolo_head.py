# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""YOLO11 head (the paper's one-stage detector) with the contrastive branch."""
from typing import Tuple

from torch import Tensor

from mmdet.registry import MODELS
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

    * :meth:`forward_single` also returns that feature (forked by the
      branch);
    * the branch's targets come from the recorded task-aligned assignment
      (:attr:`target_fields`) (positives weighted by their soft targets,
      as the host's BCE);
    * ``loss_contrast`` / ``loss_clip_ce`` are multiplied by the batch size
      like the host's losses (``scale_loss_by_batch``,
      :meth:`branch_loss_scale`).

    ``forward`` / ``loss_by_feat`` / ``predict_by_feat`` are the mixin's.

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

    stock_outputs = ('cls_scores', 'bbox_dists')
    #: YOLO11's per-image targets are ``(labels, label_weights,
    #: bbox_targets, target_scores)``
    target_fields = (0, 1, 3)

    def forward_single(self, x: Tensor, idx: int,
                       bound: bool = True) -> Tuple[Tensor, Tensor, Tensor]:
        """One level of :meth:`YOLO11Head.forward`: ``cls_score`` (B, C, H,
        W), ``bbox_dist`` (B, 4 * reg_max, H, W) and the classifier's input
        (B, feat_channels, H, W) of ``x`` (B, C_in, H, W); the arguments as
        in :meth:`ClipJointDenseMixin.forward_single`."""
        cls_feat, branch_feat = self.branch.fork(self.cls_convs[idx](x),
                                                 bound)
        return (self.cls_preds[idx](cls_feat),
                self.reg_preds[idx](self.reg_convs[idx](x)), branch_feat)

    def branch_loss_scale(self, batch_size: int) -> int:
        """The batch size when the host scales its losses by it
        (``scale_loss_by_batch``), else 1."""
        return batch_size if self.scale_loss_by_batch else 1
