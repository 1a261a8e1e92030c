# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Shared2FC box head with a parallel CLIP-space projection branch."""
from typing import Dict, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmdet.models.losses import accuracy
from mmdet.models.roi_heads.bbox_heads import Shared2FCBBoxHead
from mmdet.registry import MODELS
from mmdet.utils import ConfigType, InstanceList
from ...layers.grad_share import fork_with_grad_share
from ...layers.score_fusion import (ScoreModeMixin, check_score_mode,
                                     check_vocabulary_scoring, fuse_probs)
from ...utils.branch import build_clipjoint_parts
from ...utils.captions import build_word_region_loss
from ...utils.dist import reduce_mean_factor

__all__ = ['ClipJointBBoxHead']


@MODELS.register_module()
class ClipJointBBoxHead(ScoreModeMixin, Shared2FCBBoxHead):
    """``Shared2FCBBoxHead`` + a lightweight parallel contrastive branch.

    The 1024-d shared-FC RoI feature that feeds ``fc_cls`` / ``fc_reg`` is
    also projected by a 2-layer MLP (Linear-ReLU-Linear) into the text bank's
    space, L2-normalised, and compared with the class text embeddings
    (cosine / class temperature). Training adds, next to the unchanged
    Faster R-CNN losses, one cross-entropy per sampled RoI on the
    contrastive logits, split in two terms so that no RoI counts twice:

    * ``loss_contrast``: InfoNCE on the **foreground** RoIs (positive: the
      RoI's class; negatives: the other classes and the background entry;
      with ``symmetric=True`` also text -> region over the batch's RoIs);
    * ``loss_clip_ce``: the auxiliary cross-entropy on the **background**
      RoIs, towards the bank's background entry (needs one).

    Both are normalised like the stock ``loss_cls``: summed over RoIs and
    divided by the number of sampled RoIs (averaged over ranks). With equal
    weights their sum is the (C + 1)-way softmax CE of the contrastive
    logits over all sampled RoIs, on the same scale as ``loss_cls``.

    ``max_grad_share`` bounds what the branch sends back into the shared
    trunk: at the feature where the branch forks off, its gradient norm is
    at most ``max_grad_share`` times the detector's own
    (:func:`fork_with_grad_share`); the branch's own parameters learn at
    full rate.

    At inference ``score_mode`` decides the scores: ``det`` (branch skipped,
    zero overhead), ``clip`` or ``fuse`` (see :mod:`..layers.score_fusion`).

    Args:
        text_bank (dict): Config of a :class:`ContrastiveTextBank`; its class
            count must equal ``num_classes``.
        proj_hidden (int): Hidden width of the projection MLP.
        loss_contrast (dict): Config of the contrastive loss.
        loss_aux (dict, optional): Config of the auxiliary CE on the
            background RoIs (None: off; needs a bank with a background
            entry).
        max_grad_share (float, optional): Bound of the branch's gradient
            relative to the detector's at the fork (None: unbounded).
        score_mode (str): ``det``, ``clip`` or ``fuse``.
        fuse_alpha (float): Weight of the contrastive probabilities in
            ``fuse`` mode.
        loss_word_region (dict, optional): Config of a
            :class:`WordRegionAlignmentLoss` for caption batches
            (:meth:`ClipJointRoIHead.loss_by_captions`, DetCLIPv2); needs a
            :class:`PhraseTextBank`. None: off.
        caption_topk (int): Regions per caption image: its best-scoring
            RPN proposals.
        **kwargs: Passed to :class:`Shared2FCBBoxHead`.
    """

    def __init__(self,
                 text_bank: ConfigType,
                 proj_hidden: int = 1024,
                 loss_contrast: ConfigType = dict(
                     type='InfoNCELoss', loss_weight=1.0),
                 loss_aux: Optional[ConfigType] = dict(
                     type='CrossEntropyLoss', use_sigmoid=False,
                     loss_weight=1.0),
                 max_grad_share: Optional[float] = 1.0,
                 score_mode: str = 'det',
                 fuse_alpha: float = 0.5,
                 loss_word_region: Optional[ConfigType] = None,
                 caption_topk: int = 16,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        check_score_mode(score_mode, fuse_alpha)
        self.text_bank, self.loss_contrast, self.loss_aux = \
            build_clipjoint_parts('the bbox head', self.num_classes,
                                  text_bank, loss_contrast, loss_aux,
                                  max_grad_share, 'background RoIs')
        embed_dim = self.text_bank.embed_dim
        self.proj = nn.Sequential(
            nn.Linear(self.cls_last_dim, proj_hidden), nn.ReLU(inplace=True),
            nn.Linear(proj_hidden, embed_dim))
        self.max_grad_share = max_grad_share
        self.score_mode = score_mode
        self.fuse_alpha = fuse_alpha
        self.loss_word_region = build_word_region_loss(
            loss_word_region, self.text_bank, 'the bbox head', caption_topk)
        self.caption_topk = int(caption_topk)

    def _branch_features(self, x: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """The shared/convfc trunk of :class:`ConvFCBBoxHead.forward`.

        Args:
            x (Tensor): RoI features, shape (N, C_in, S, S).

        Returns:
            tuple[Tensor]: the features feeding ``fc_cls`` and ``fc_reg``,
            shapes (N, cls_last_dim) and (N, reg_last_dim), and the
            branch's input (the ``fc_cls`` input, forked with the gradient
            bound), shape (N, cls_last_dim).
        """
        for conv in self.shared_convs:
            x = conv(x)
        if self.num_shared_fcs > 0:
            if self.with_avg_pool:
                x = self.avg_pool(x)
            x = x.flatten(1)
            for fc in self.shared_fcs:
                x = self.relu(fc(x))
        share = self.max_grad_share if self.training else None
        cls_identity = not (self.num_cls_convs or self.num_cls_fcs)
        if cls_identity:  # Shared2FC: fork where cls and reg part
            x, x_branch = fork_with_grad_share(x, share)
        x_cls = self._convs_fcs(x, self.cls_convs, self.cls_fcs)
        x_reg = self._convs_fcs(x, self.reg_convs, self.reg_fcs)
        if not cls_identity:
            x_cls, x_branch = fork_with_grad_share(x_cls, share)
        return x_cls, x_reg, x_branch

    def _convs_fcs(self, x: Tensor, convs: nn.ModuleList,
                   fcs: nn.ModuleList) -> Tensor:
        """The cls or the reg part of :class:`ConvFCBBoxHead.forward`.

        Args:
            x (Tensor): the shared trunk's output, shape (N, C, S, S), or
                (N, C') after shared FCs.
            convs (nn.ModuleList): the part's convs (``cls_convs`` /
                ``reg_convs``).
            fcs (nn.ModuleList): the part's FCs (``cls_fcs`` / ``reg_fcs``).

        Returns:
            Tensor: shape (N, cls_last_dim) or (N, reg_last_dim).
        """
        for conv in convs:
            x = conv(x)
        if x.dim() > 2:
            if self.with_avg_pool:
                x = self.avg_pool(x)
            x = x.flatten(1)
        for fc in fcs:
            x = self.relu(fc(x))
        return x

    @property
    def needs_embed(self) -> bool:
        """Whether forward computes the contrastive branch."""
        return self.training or self.score_mode != 'det'

    def embed(self, x_cls: Tensor) -> Tensor:
        """Project classifier features into the joint space.

        Args:
            x_cls (Tensor): shape (N, cls_last_dim).

        Returns:
            Tensor: L2-normalised float32 embeddings, shape (N, D) (the
            normalisation in float32 also under mixed precision).
        """
        return F.normalize(self.proj(x_cls).float(), dim=-1)

    def forward(self, x: Tensor) -> Tuple[Tensor, Tensor, Optional[Tensor]]:
        """Forward RoI features.

        Args:
            x (Tensor): RoI features, shape (N, C_in, S, S).

        Returns:
            tuple: ``cls_score`` (N, C + 1), ``bbox_pred`` (N, 4 * C or 4),
            and the region embeddings (N, D), or None in ``det`` mode at
            inference.
        """
        x_cls, x_reg, x_branch = self._branch_features(x)
        cls_score = self.fc_cls(x_cls) if self.with_cls else None
        bbox_pred = self.fc_reg(x_reg) if self.with_reg else None
        region_embed = self.embed(x_branch) if self.needs_embed else None
        return cls_score, bbox_pred, region_embed

    def loss_contrastive(self, region_embed: Tensor, labels: Tensor,
                         label_weights: Tensor) -> Dict[str, Tensor]:
        """Contrastive (foreground) + auxiliary CE (background) losses.

        Args:
            region_embed (Tensor): shape (N, D).
            labels (Tensor): RoI targets in ``[0, C]``, C = background,
                shape (N,).
            label_weights (Tensor): shape (N,).

        Returns:
            dict[str, Tensor]: ``loss_contrast``, ``loss_clip_ce`` (when
            enabled) and the logged ``acc_clip``.
        """
        check_vocabulary_scoring(self, training=True)
        logits = self.text_bank(region_embed)
        C = self.num_classes
        # the stock loss_cls' normaliser (sampled RoIs), averaged over ranks
        avg = reduce_mean_factor((label_weights > 0).sum())
        losses = dict(
            loss_contrast=self.loss_contrast(
                logits, labels, weight=label_weights, avg_factor=avg,
                num_classes=C))
        fg = (labels >= 0) & (labels < C)
        if self.loss_aux is not None:
            bg = ~fg & (label_weights > 0)
            losses['loss_clip_ce'] = self.loss_aux(
                logits[bg], torch.full_like(labels[bg], C),
                label_weights[bg], avg_factor=avg) if bg.any() else \
                logits.sum() * 0
        if self.text_bank.drift_weight > 0:
            losses['loss_text_drift'] = self.text_bank.drift_loss()
        if fg.any():
            losses['acc_clip'] = accuracy(logits[fg, :C], labels[fg])
        return losses

    def clip_probs(self, region_embed: Tensor, det_probs: Tensor) -> Tensor:
        """Contrastive probabilities over C + 1 entries (background last).

        Without a background entry in the bank, the detector's background
        probability is used and the class probabilities are rescaled to the
        remaining mass.

        Args:
            region_embed (Tensor): shape (N, D).
            det_probs (Tensor): the detector's softmax, shape (N, C + 1).

        Returns:
            Tensor: shape (N, C' + 1), C' the bank's classes (C unless
            ``set_vocabulary`` swapped in other names).
        """
        logits = self.text_bank(region_embed)
        if self.text_bank.with_background:
            return logits.softmax(-1)
        bg = det_probs[:, -1:]
        return torch.cat([logits.softmax(-1) * (1 - bg), bg], dim=-1)

    def fuse_scores(self, cls_score: Tensor,
                    region_embed: Optional[Tensor]) -> Tensor:
        """Apply ``score_mode`` to the detector's logits.

        Args:
            cls_score (Tensor): detector logits, shape (N, C + 1).
            region_embed (Tensor, optional): shape (N, D).

        Returns:
            Tensor: logits (N, C + 1) whose softmax -- what the stock
            ``predict_by_feat`` applies -- gives the final probabilities.
        """
        check_vocabulary_scoring(self, training=False)
        if self.score_mode == 'det' or region_embed is None:
            return cls_score
        det = cls_score.softmax(-1)
        probs = fuse_probs(det, self.clip_probs(region_embed, det),
                           self.score_mode, self.fuse_alpha)
        return probs.clamp(min=torch.finfo(probs.dtype).tiny).log()

    def vocabulary_bbox_pred(self, cls_score: Tensor,
                             bbox_pred: Tensor) -> Tensor:
        """Box deltas for a swapped vocabulary (``set_vocabulary``).

        Class-specific regression has no deltas for new names; each RoI
        keeps those of the training class the detector finds most probable
        (the detector says where the object is, the bank what it is).

        Args:
            cls_score (Tensor): the detector's logits, shape (N, C + 1).
            bbox_pred (Tensor): shape (N, 4 * C) or (N, 4).

        Returns:
            Tensor: class-agnostic deltas, shape (N, 4).
        """
        if self.reg_class_agnostic or bbox_pred is None:
            return bbox_pred
        C = len(self.text_bank.swapped_from)
        best = cls_score[:, :C].argmax(-1)
        deltas = bbox_pred.view(len(bbox_pred), C, -1)
        return deltas[torch.arange(len(deltas)), best]

    def predict_by_feat(self, *args, **kwargs) -> InstanceList:
        """The stock post-process, over the bank's C' classes with
        class-agnostic boxes after ``set_vocabulary``."""
        with self.vocabulary_label_space(reg_class_agnostic=True):
            return super().predict_by_feat(*args, **kwargs)
