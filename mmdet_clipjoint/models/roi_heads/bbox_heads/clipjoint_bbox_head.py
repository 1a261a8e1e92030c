# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Shared2FC box head with a parallel CLIP-space projection branch."""
from typing import Dict, Optional, Tuple

import torch
from torch import Tensor

from mmdet.models.roi_heads.bbox_heads import Shared2FCBBoxHead
from mmdet.registry import MODELS
from mmdet.utils import ConfigType
from ...layers.clipjoint_head_mixin import BRANCH_KEYS, ClipJointHeadMixin
from ...layers.score_fusion import (check_score_mode,
                                     check_vocabulary_scoring, fuse_probs)
from ...utils.captions import build_word_region_loss
from ...utils.dist import reduce_mean_factor

__all__ = ['ClipJointBBoxHead']


@MODELS.register_module()
class ClipJointBBoxHead(ClipJointHeadMixin, Shared2FCBBoxHead):
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

    The projection, the text bank and both losses are one
    :class:`ContrastiveBranch` (``self.branch``), built from the ``branch``
    config key. Its ``max_grad_share`` bounds what the branch sends back
    into the shared trunk: at the feature where the branch forks off (the
    shared-FC output, :meth:`shared_features`), its gradient norm is at
    most ``max_grad_share`` times the detector's own
    (:func:`fork_with_grad_share`); the branch's own parameters learn at
    full rate.

    At inference ``score_mode`` decides the scores: ``det`` (branch skipped,
    zero overhead), ``clip`` or ``fuse`` (see :mod:`..layers.score_fusion`).

    Args:
        text_bank (dict): Config of a :class:`ContrastiveTextBank`; its class
            count must equal ``num_classes``.
        branch (dict): Config of the :class:`ContrastiveBranch`:
            ``proj_hidden`` (hidden width of the projection MLP),
            ``loss_contrast``, ``loss_aux`` (the auxiliary CE on the
            background RoIs; None: off, needs a bank with a background
            entry) and ``max_grad_share`` (the gradient bound at the fork;
            None: unbounded). The head-level keys of earlier versions raise
            an error saying so.
        score_mode (str): ``det``, ``clip`` or ``fuse``.
        fuse_alpha (float): Weight of the contrastive probabilities in
            ``fuse`` mode.
        fuse_frequency_power (float): 0 (default): ``fuse_alpha`` for every
            class; p > 0: frequency-weighted fusion, class c weighs the
            branch by ``1 - (1 - fuse_alpha) * (n_c / n_max) ** p`` (n_c
            its training boxes, recorded in the text bank when training
            starts; background keeps ``fuse_alpha``).
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
                 branch: ConfigType = dict(type='ContrastiveBranch',
                                           proj_hidden=1024),
                 score_mode: str = 'det',
                 fuse_alpha: float = 0.5,
                 fuse_frequency_power: float = 0.0,
                 loss_word_region: Optional[ConfigType] = None,
                 caption_topk: int = 16,
                 **kwargs) -> None:
        legacy = {k: kwargs.pop(k) for k in BRANCH_KEYS if k in kwargs}
        super().__init__(**kwargs)
        check_score_mode(score_mode, fuse_alpha)
        self.build_branch(branch, text_bank, self.cls_last_dim, legacy,
                          owner='the bbox head', spatial=False,
                          background_samples='background RoIs')
        self.score_mode = score_mode
        self.fuse_alpha = fuse_alpha
        self.fuse_frequency_power = fuse_frequency_power
        self.loss_word_region = build_word_region_loss(
            loss_word_region, self.text_bank, 'the bbox head', caption_topk)
        self.caption_topk = int(caption_topk)

    @property
    def reg_class_agnostic(self) -> bool:
        """Whether the box deltas the post-process decodes are
        class-agnostic: as configured, and always after ``set_vocabulary``
        (the label space is then the bank's names, for which
        :meth:`vocabulary_bbox_pred` keeps one box per RoI)."""
        return self._agnostic_fc_reg or self.vocabulary_swapped

    @reg_class_agnostic.setter
    def reg_class_agnostic(self, value: bool) -> None:
        #: the layout of ``fc_reg``: 4 (True) or 4 * C (False) outputs
        self._agnostic_fc_reg = bool(value)

    def shared_features(self, x: Tensor) -> Tensor:
        """The shared-FC feature: the input of ``fc_cls``, ``fc_reg`` and
        the branch (Shared2FC has no cls / reg-specific layers).

        Args:
            x (Tensor): RoI features, shape (N, C_in, S, S).

        Returns:
            Tensor: shape (N, cls_last_dim).
        """
        for conv in self.shared_convs:
            x = conv(x)
        if self.with_avg_pool:
            x = self.avg_pool(x)
        x = x.flatten(1)
        for fc in self.shared_fcs:
            x = self.relu(fc(x))
        return x

    def region_embeddings(self, x: Tensor) -> Tensor:
        """Branch embeddings of RoI features, the gradient into the trunk
        unbounded (caption batches, analysis).

        Args:
            x (Tensor): RoI features, shape (N, C_in, S, S).

        Returns:
            Tensor: L2-normalised float32, shape (N, D).
        """
        return self.branch.embed(self.shared_features(x))

    def forward(self, x: Tensor) -> Tuple[Tensor, Tensor, Optional[Tensor]]:
        """Forward RoI features.

        Args:
            x (Tensor): RoI features, shape (N, C_in, S, S).

        Returns:
            tuple: ``cls_score`` (N, C + 1), ``bbox_pred`` (N, 4 * C or 4),
            and the region embeddings (N, D), or None in ``det`` mode at
            inference.
        """
        x, x_branch = self.branch.fork(self.shared_features(x))
        cls_score = self.fc_cls(x) if self.with_cls else None
        bbox_pred = self.fc_reg(x) if self.with_reg else None
        region_embed = self.branch.embed(x_branch) \
            if self.needs_embed else None
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
        # the stock loss_cls' normaliser (sampled RoIs), averaged over ranks
        avg = reduce_mean_factor((label_weights > 0).sum())
        return self.branch.loss(region_embed, labels, label_weights, avg)

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
        probs = self.branch.probs(region_embed)
        if self.text_bank.with_background:
            return probs
        bg = det_probs[:, -1:]
        return torch.cat([probs * (1 - bg), bg], dim=-1)

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
                           self.score_mode, self.fuse_weights(det.size(-1)))
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
        if self._agnostic_fc_reg or bbox_pred is None:
            return bbox_pred
        C = len(self.text_bank.swapped_from)
        best = cls_score[:, :C].argmax(-1)
        deltas = bbox_pred.view(len(bbox_pred), C, -1)
        return deltas[torch.arange(len(deltas)), best]
