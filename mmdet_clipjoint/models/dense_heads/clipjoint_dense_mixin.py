# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""The contrastive branch shared by the one-stage ClipJoint heads."""
import math
from contextlib import contextmanager
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import torch
from mmengine.config import ConfigDict
from torch import Tensor

from mmdet.models.task_modules.samplers import SamplingResult
from mmdet.models.utils import multi_apply, unpack_gt_instances
from mmdet.structures import SampleList
from mmdet.utils import ConfigType, InstanceList, OptConfigType
from ..layers.clipjoint_head_mixin import BRANCH_KEYS, ClipJointHeadMixin
from ..layers.score_fusion import (check_objectness_power, check_score_mode,
                                    check_vocabulary_scoring, fuse_probs)
from ..utils.captions import build_word_region_loss, caption_phrase_batch
from ..utils.grounding import (grounding_detection_samples,
                               grounding_phrase_targets)
from ..utils.dist import reduce_mean_factor

__all__ = ['ClipJointDenseMixin']


class ClipJointDenseMixin(ClipJointHeadMixin):
    """CLIP-Joint-Detect for dense (one-stage) heads, as a mixin.

    Put it *before* a stock head in the bases (``class H(ClipJointDenseMixin,
    RTMDetSepBNHead)``): its :meth:`__init__` is every one-stage ClipJoint
    head's constructor (the branch's arguments, then the stock head's
    through ``**kwargs``). The subclass names its stock outputs
    (:attr:`stock_outputs`), forks the per-level feature that feeds its
    classifier (``rtm_cls`` / ``conv_cls``, ``feat_channels`` wide) in
    :meth:`forward_single`, and converts the stock per-image targets into
    dense ones (:meth:`_dense_targets`); the mixin does the rest, with
    ``forward``, ``loss_by_feat`` and ``predict_by_feat`` written once here:

    * **Branch**: a :class:`ContrastiveBranch` (``self.branch``) with a
      2-layer 1x1-conv MLP (Conv-ReLU-Conv), shared by all FPN levels,
      that maps a classifier feature to the text bank's space (L2-normalised
      per location), the bank and both losses.
    * **Targets**: the stock assignment, recorded while the stock
      ``loss_by_feat`` runs (:meth:`_get_targets_single` is wrapped), so it
      runs once and the stock losses are untouched.
    * **Sampled locations**: every positive location (embedded on its own,
      not the whole grid) plus ``neg_pos_ratio`` hard negatives per
      positive (at least per image): the negatives the detector is most
      confident about, ranked by its detached scores (SSD-style mining).
    * ``loss_contrast``: InfoNCE on the positives (their class is the
      positive text; with ``symmetric=True`` the text -> region direction
      also contrasts every class against the sampled negatives). With
      ``quality_weight`` each positive is weighted by the assigner's
      IoU-based target score (the soft label of RTMDet's QFL / YOLOX's
      IoU-aware class target), floored at ``min_quality``, exactly as the
      host weights its positives: poorly localised positives (whose
      features may mix objects and background) pull less.
    * ``loss_clip_ce``: auxiliary cross-entropy of the mined negatives
      towards the bank's background entry (needs one). Each negative
      weighs as much as an average positive (SSD's hard-negative scheme),
      so the background mass is ``neg_pos_ratio`` times the foreground's.
    * **Normalisation**: both terms are sums divided by the host's
      classification normaliser -- the sum of the positives' quality
      weights, averaged over ranks and at least 1 (RTMDet's
      ``cls_avg_factor``) -- so no sample counts twice and the scale does
      not change with the number of ranks.
    * **Gradient share**: each level's classifier feature is forked
      (:meth:`ContrastiveBranch.fork`): the branch's gradient into the
      shared trunk is at most ``max_grad_share`` times the host
      classifier's at that feature. RTMDet's own losses start tiny (prior
      bias, IoU-weighted QFL), so unbounded the branch's gradient was
      10^2-10^4 times the detector's at initialisation.
    * **Inference** (``score_mode``): ``det`` skips the branch (forward
      returns the stock outputs). ``clip`` / ``fuse`` project, in one
      batched op, the locations whose score can still reach the test
      threshold (exact: :meth:`fuse_mlvl_scores`); the contrastive class
      distribution is
      ``softmax`` over the C class logits (the background entry is a
      training device only) times the detector's foreground confidence
      ``max_c p_det(c)``; ``fuse`` is the geometric mean
      ``p_det^(1-a) * p_clip^a``. The fused probabilities are turned back
      into logits so the stock ``predict_by_feat`` applies unchanged.
    """

    #: floor of the quality weights of positives (IoU scale)
    min_quality = 0.01
    #: ``clip`` / ``fuse`` inference embeds only the locations that can
    #: reach the score threshold (exact, see :meth:`fuse_mlvl_scores`);
    #: False embeds every location (the reference the tests compare with)
    sparse_fuse = True

    #: names of the stock forward outputs (per-level sequences),
    #: ``cls_scores`` first; the branch's ``cls_feats`` follow them
    stock_outputs: Tuple[str, ...] = ('cls_scores', 'bbox_preds')

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 text_bank: ConfigType,
                 branch: ConfigType = dict(type='ContrastiveBranch',
                                           proj_hidden=256),
                 quality_weight: bool = True,
                 neg_pos_ratio: int = 3,
                 score_mode: str = 'det',
                 fuse_alpha: float = 0.5,
                 fuse_frequency_power: float = 0.0,
                 objectness_power: float = 1.0,
                 loss_word_region: OptConfigType = None,
                 caption_topk: int = 16,
                 **kwargs) -> None:
        """Build the stock head, then the branch.

        Args:
            num_classes (int): Number of foreground classes C.
            in_channels (int): Channels of the input feature maps.
            text_bank (dict): Config of a :class:`ContrastiveTextBank` with C
                class names.
            branch (dict): Config of the :class:`ContrastiveBranch` (1x1
                convs ``feat_channels`` -> ``proj_hidden`` -> D):
                ``proj_hidden``, ``loss_contrast`` (InfoNCE), ``loss_aux``
                (the auxiliary CE of the mined negatives towards the bank's
                background entry; None: off) and ``max_grad_share`` (the
                bound of the branch's gradient into the trunk relative to
                the host classifier's, at the classifier feature; None:
                unbounded). The head-level keys of earlier versions raise
                an error saying so.
            quality_weight (bool): Weight positives by the assigner's
                IoU-based target score.
            neg_pos_ratio (int): Mined hard negatives per positive (at least
                per image) added to the contrastive batch.
            score_mode (str): ``det`` (default: branch skipped at
                inference), ``clip`` or ``fuse``.
            fuse_alpha (float): Weight of the contrastive probabilities in
                ``fuse`` mode.
            fuse_frequency_power (float): 0 (default): ``fuse_alpha`` for
                every class; p > 0: frequency-weighted fusion, class c
                weighs the branch by ``1 - (1 - fuse_alpha) * (n_c /
                n_max) ** p`` (n_c its training boxes, recorded in the text
                bank when training starts): rare classes lean on the
                branch.
            objectness_power (float): Exponent g in [0, 1] of the
                detector's confidence in the ``clip`` scores,
                ``softmax(cos / tau) * (max_c p_det(c)) ** g``: 1 (default)
                the product, 0 the branch's softmax alone. A diagnostic of
                open-vocabulary scoring (docs/open_vocabulary.md): the
                detector's confidence is trained on base classes only.
            loss_word_region (dict, optional): Config of a
                :class:`WordRegionAlignmentLoss`: trains on caption batches
                (:meth:`loss_by_captions`, DetCLIPv2); needs a text bank
                with a phrase encoder (:class:`PhraseTextBank`). None: off.
            caption_topk (int): Regions per caption image: its top-scoring
                locations by the detector's confidence.
            **kwargs: Passed to the stock head (the next base class).
        """
        legacy = {k: kwargs.pop(k) for k in BRANCH_KEYS if k in kwargs}
        super().__init__(num_classes, in_channels, **kwargs)
        check_score_mode(score_mode, fuse_alpha)
        self.build_branch(branch, text_bank, self.feat_channels, legacy,
                          spatial=True, background_samples='mined negatives')
        if neg_pos_ratio < 0:
            raise ValueError(f'neg_pos_ratio={neg_pos_ratio} must be >= 0.')
        self.quality_weight = quality_weight
        self.neg_pos_ratio = int(neg_pos_ratio)
        self.score_mode = score_mode
        self.fuse_alpha = fuse_alpha
        self.fuse_frequency_power = fuse_frequency_power
        self.objectness_power = objectness_power
        self.loss_word_region = build_word_region_loss(
            loss_word_region, self.text_bank, type(self).__name__,
            caption_topk)
        self.caption_topk = int(caption_topk)
        #: per-image target tuples, filled only inside _record_targets()
        self._target_sink: Optional[List[tuple]] = None

    @property
    def objectness_power(self) -> float:
        """Exponent g of the detector's confidence in the ``clip`` scores
        (:meth:`clip_probs`); an assignment outside [0, 1] raises."""
        return self._objectness_power

    @objectness_power.setter
    def objectness_power(self, power: float) -> None:
        self._objectness_power = check_objectness_power(power)

    # ------------------------------------------------------------------
    # weights, label space
    # ------------------------------------------------------------------
    def init_weights(self) -> None:
        """Stock head init, then the branch's (projection convs at
        PyTorch's default, the text bank), unless the stock init already
        reached it (hosts whose init recurses into children)."""
        super().init_weights()
        if not self.branch.is_init:
            self.branch.init_weights()

    @property
    def cls_out_channels(self) -> int:
        """Width of the class scores: C for the stock layers and losses;
        after ``set_vocabulary`` the bank's C' (:attr:`num_labels`), the
        width of the ``clip`` scores the stock post-process reads."""
        if self.vocabulary_swapped:
            return self.num_labels
        return self._cls_out_channels

    @cls_out_channels.setter
    def cls_out_channels(self, value: int) -> None:
        self._cls_out_channels = value

    # ------------------------------------------------------------------
    # forward
    # ------------------------------------------------------------------
    def forward_single(self, x: Tensor, idx: int,
                       bound: bool = True) -> Tuple[Tensor, ...]:
        """One level: the stock outputs, then the classifier's input.

        The host forks its classifier feature with
        :meth:`ContrastiveBranch.fork` (``bound`` passed on).

        Args:
            x (Tensor): Level ``idx`` features, shape (B, C_in, H, W).
            idx (int): Level index.
            bound (bool): Bound the branch's gradient into the trunk.

        Returns:
            tuple[Tensor]: the stock per-level outputs (``cls_score``
            (B, C, H, W) first), then the classifier feature
            (B, feat_channels, H, W).
        """
        raise NotImplementedError

    def forward(self, feats: Sequence[Tensor]) -> tuple:
        """Forward all levels (:meth:`forward_levels`).

        Args:
            feats (Sequence[Tensor]): Neck outputs, each (B, C_l, H_l, W_l).

        Returns:
            tuple: the stock outputs (:attr:`stock_outputs`, each per
            level), plus ``cls_feats`` (per level (B, feat_channels,
            H_l, W_l)) unless in ``det`` mode at inference.
        """
        return self.forward_levels(feats)

    def forward_levels(self, feats: Sequence[Tensor],
                       bound: bool = True) -> tuple:
        """Run :meth:`forward_single` on every level.

        Args:
            feats (Sequence[Tensor]): Neck outputs, each (B, C_l, H_l, W_l).
            bound (bool): Bound the branch's gradient into the trunk (False
                for caption batches).

        Returns:
            tuple: the stock outputs (each a per-level tuple), plus the
            per-level classifier features (B, feat_channels, H_l, W_l)
            unless in ``det`` mode at inference (then exactly the stock
            outputs).
        """
        outs = multi_apply(self.forward_single, feats, range(len(feats)),
                           bound=bound)
        stock = tuple(tuple(o) for o in outs[:-1])
        return stock + (tuple(outs[-1]), ) if self.needs_embed else stock

    @staticmethod
    def flatten_levels(mlvl: Sequence[Tensor]) -> Tensor:
        """Concatenate per-level maps in the stock prior order.

        Args:
            mlvl (Sequence[Tensor]): per level, shape (B, Ch, H_l, W_l).

        Returns:
            Tensor: shape (B, N, Ch), N = sum_l H_l * W_l, ordered level
            by level, row-major inside a level (as the stock heads flatten
            scores and priors).
        """
        return torch.cat([x.flatten(2) for x in mlvl], dim=2).transpose(1, 2)

    # ------------------------------------------------------------------
    # training
    # ------------------------------------------------------------------
    @contextmanager
    def _record_targets(self) -> Iterator[List[tuple]]:
        """Collect the per-image outputs of :meth:`_get_targets_single`.

        Yields:
            list[tuple]: filled, in image order, by the stock target
            computation that runs inside the ``with`` block; inside an
            outer ``with`` block, the outer list (so that a caller around
            :meth:`loss_by_feat` sees its assignment too).
        """
        if self._target_sink is not None:
            yield self._target_sink
            return
        sink: List[tuple] = []
        self._target_sink = sink
        try:
            yield sink
        finally:
            self._target_sink = None

    def _get_targets_single(self, *args, **kwargs) -> tuple:
        """The stock per-image assignment, recorded when requested."""
        out = super()._get_targets_single(*args, **kwargs)
        if self._target_sink is not None:
            self._target_sink.append(out)
        return out

    def loss_by_feat(self, *args) -> Dict[str, Tensor]:
        """Stock losses plus ``loss_contrast`` / ``loss_clip_ce``.

        Args:
            *args: As the stock ``loss_by_feat`` receives them from
                :meth:`loss`: the stock forward outputs
                (:attr:`stock_outputs`, per level, ``cls_scores``
                (B, C, H_l, W_l) first), the classifier features per level
                (B, Cf, H_l, W_l), then ``batch_gt_instances``,
                ``batch_img_metas`` and optionally
                ``batch_gt_instances_ignore``.

        Returns:
            dict[str, Tensor]: the stock losses, ``loss_contrast``,
            ``loss_clip_ce`` and ``acc_clip`` (:meth:`loss_clipjoint`).
        """
        n = len(self.stock_outputs)
        stock_outs, cls_feats = args[:n], args[n]
        batch_gt_instances, batch_img_metas = args[n + 1:n + 3]
        batch_gt_instances_ignore = args[n + 3] if len(args) > n + 3 \
            else None
        # a swapped vocabulary is for inference only (before the stock
        # targets, which assume the trained label space)
        check_vocabulary_scoring(self, training=True)
        with self._record_targets() as records:
            losses = super().loss_by_feat(*stock_outs, batch_gt_instances,
                                          batch_img_metas,
                                          batch_gt_instances_ignore)
        branch = self.loss_clipjoint(
            cls_feats, *self._dense_targets(records, *stock_outs))
        scale = self.branch_loss_scale(len(batch_img_metas))
        if scale != 1:
            for k in ('loss_contrast', 'loss_clip_ce'):
                if k in branch:
                    branch[k] = branch[k] * scale
        losses.update(branch)
        return losses

    def branch_loss_scale(self, batch_size: int) -> int:
        """Factor of the branch's losses, to match the host's scale
        (1; YOLO11 multiplies its losses by the batch size)."""
        return 1

    #: positions of ``labels``, ``label_weights`` and the quality target
    #: (the assigner's soft score) in the host's per-image target tuple,
    #: for the default :meth:`_dense_targets`
    target_fields: Tuple[int, int, int] = (0, 1, 3)

    def _dense_targets(self, records: List[tuple],
                       *stock_outs: Sequence[Tensor]) -> Tuple[Tensor, ...]:
        """The host's recorded assignment as dense branch targets.

        The default reads :attr:`target_fields` of each record and ranks
        negatives by the detached max class logit; hosts whose targets
        look otherwise (YOLOX) override it.

        Args:
            records (list[tuple]): per image, what the stock
                :meth:`_get_targets_single` returned, over all N priors.
            *stock_outs (Sequence[Tensor]): the stock forward outputs,
                ``cls_scores`` (B, C, H, W) logits first.

        Returns:
            tuple[Tensor]: ``labels`` (B, N) in ``[0, C]``, ``quality``,
            ``valid`` (bool) and ``hardness``, each (B, N), as
            :meth:`loss_clipjoint` takes them.
        """
        lab, weight, qual = self.target_fields
        labels = torch.stack([r[lab] for r in records])
        valid = torch.stack([r[weight] for r in records]) > 0
        quality = torch.stack([r[qual] for r in records])
        with torch.no_grad():
            hardness = self.flatten_levels(stock_outs[0]).max(-1)[0]
        return labels, quality, valid, hardness

    def _sample_locations(self, labels: Tensor, quality: Tensor,
                          valid: Tensor, hardness: Tensor) -> tuple:
        """Positive locations and mined hard negatives, flat indices.

        Args:
            labels (Tensor): (B, N), ``num_classes`` = background.
            quality (Tensor): (B, N), the assigner's target score.
            valid (Tensor): (B, N) bool, counted by the stock cls loss.
            hardness (Tensor): (B, N), detached detector confidence.

        Returns:
            tuple[Tensor]: ``pos_idx`` (P,), ``neg_idx`` (M,) into B * N, and
            the positives' weights (P,).
        """
        C = self.num_classes
        pos = valid & (labels >= 0) & (labels < C)
        pos_idx = pos.flatten().nonzero().squeeze(1)
        if self.quality_weight and len(pos_idx):
            pos_w = quality.flatten()[pos_idx].detach().float().clamp(
                min=self.min_quality)
        else:
            pos_w = quality.new_ones(len(pos_idx), dtype=torch.float)
        neg = (valid & (labels >= C)).flatten()
        k = min(self.neg_pos_ratio * max(len(pos_idx), labels.size(0)),
                int(neg.sum()))
        if k > 0:
            score = hardness.flatten().float().masked_fill(
                ~neg, float('-inf'))
            neg_idx = score.topk(k, sorted=False).indices
        else:
            neg_idx = pos_idx.new_zeros(0)
        return pos_idx, neg_idx, pos_w

    def loss_clipjoint(self, cls_feats: Sequence[Tensor], labels: Tensor,
                       quality: Tensor, valid: Tensor,
                       hardness: Tensor) -> Dict[str, Tensor]:
        """Contrastive + auxiliary CE losses on the sampled locations.

        Args:
            cls_feats (Sequence[Tensor]): classifier features per level,
                shape (B, Cf, H_l, W_l).
            labels (Tensor): dense targets (B, N) in ``[0, C]``, C =
                background, in the :meth:`flatten_levels` order.
            quality (Tensor): (B, N) IoU-based target score of positives.
            valid (Tensor): (B, N) bool; False where the stock loss ignores
                the location.
            hardness (Tensor): (B, N) detached detector confidence, used to
                mine negatives.

        Returns:
            dict[str, Tensor]: ``loss_contrast``, ``loss_clip_ce`` (when
            enabled) and the logged ``acc_clip`` (when positives exist).
        """
        check_vocabulary_scoring(self, training=True)
        C = self.num_classes
        pos_idx, neg_idx, pos_w = self._sample_locations(
            labels, quality, valid, hardness)
        idx = torch.cat([pos_idx, neg_idx])
        feats = torch.cat([x.flatten(2) for x in cls_feats], dim=2)
        B, Cf, N = feats.shape
        # gathered before projecting: only the S sampled locations cost
        x = feats.transpose(1, 2).reshape(B * N, Cf)[idx]
        emb = self.branch.embed_rows(x)  # (S, D)
        P = len(pos_idx)
        tgt = labels.flatten()[idx].clone()
        tgt[P:] = C
        # a mined negative weighs as much as an average positive
        neg_w = pos_w.mean() if P else pos_w.new_tensor(1.0)
        weight = torch.cat([pos_w, neg_w.expand(len(neg_idx))])
        # the host's classification normaliser, averaged over ranks
        avg = reduce_mean_factor(pos_w.sum())
        return self.branch.loss(emb, tgt, weight, avg)

    # ------------------------------------------------------------------
    # caption batches (DetCLIPv2 word-region alignment)
    # ------------------------------------------------------------------
    def caption_region_scores(self, outs: tuple) -> Tensor:
        """The detector's confidence per location, to pick caption regions.

        Args:
            outs (tuple): :meth:`forward`'s outputs, ``cls_scores`` first.

        Returns:
            Tensor: (B, N) ``max_c sigmoid(cls)``, detached.
        """
        return self.flatten_levels(outs[0]).detach().sigmoid().max(-1)[0]

    def loss_by_captions(self, x: Tuple[Tensor, ...],
                         batch_data_samples: SampleList) -> Dict[str, Tensor]:
        """Word-region alignment loss of a batch of image-caption pairs.

        Each image's regions are its ``caption_topk`` locations the detector
        is most confident about (:meth:`caption_region_scores`), embedded by
        the branch's projection; each caption's phrases
        (``metainfo['phrases']``) are embedded by the text bank's phrase
        encoder; :class:`WordRegionAlignmentLoss` contrasts the pairs of
        the batch. The branch's gradient into the trunk is not bounded here
        (no detection loss runs on caption images to bound it by).

        Args:
            x (tuple[Tensor]): Neck outputs, each (B, C_l, H_l, W_l).
            batch_data_samples (list[:obj:`DetDataSample`]): With
                ``metainfo['phrases']`` (list[str]).

        Returns:
            dict[str, Tensor]: ``loss_word_region``.
        """
        if self.loss_word_region is None:
            raise ValueError(
                'a caption batch (samples with metainfo["phrases"]) reached '
                f'{type(self).__name__}, whose loss_word_region is None: '
                'configure loss_word_region or train on boxes only.')
        check_vocabulary_scoring(self, training=True)
        outs = self.forward_levels(x, bound=False)
        cls_feats = outs[-1]
        feats = self.flatten_levels(cls_feats)  # (B, N, Cf)
        B, N, Cf = feats.shape
        k = min(self.caption_topk, N)
        idx = self.caption_region_scores(outs).topk(k, dim=1).indices
        picked = feats.gather(1, idx[..., None].expand(B, k, Cf))
        regions = self.branch.embed_rows(picked.reshape(B * k, Cf)).reshape(
            B, k, -1)
        phrase_emb, phrase_mask = caption_phrase_batch(
            self.text_bank, batch_data_samples, regions)
        loss = self.loss_word_region(regions, None, phrase_emb, phrase_mask)
        return dict(loss_word_region=loss)

    # ------------------------------------------------------------------
    # grounding batches (phrases with their boxes)
    # ------------------------------------------------------------------
    #: a box without an assigned positive is embedded at its centre on the
    #: level where it spans about this many strides (sqrt(w * h) / stride)
    grounding_box_strides = 5.0

    def loss_by_grounding(self, x: Tuple[Tensor, ...],
                          batch_data_samples: SampleList
                          ) -> Dict[str, Tensor]:
        """Detection losses on a grounding batch's boxes, plus
        ``loss_grounding``: the word-region loss on their KNOWN regions.

        One forward and one assignment serve both: the boxes whose phrase
        names a class (``metainfo['phrase_labels']``) are the stock losses'
        targets (and the branch's ``loss_contrast``), the others are
        ignored instances (:func:`grounding_detection_samples`); then each
        box's region (:meth:`grounding_regions`) is contrasted with the
        batch's phrases (:meth:`WordRegionAlignmentLoss.grounded`). The
        branch's gradient into the trunk is bounded as on detection
        batches.

        Args:
            x (tuple[Tensor]): Neck outputs, each (B, C_l, H_l, W_l).
            batch_data_samples (list[:obj:`DetDataSample`]): Grounding
                samples (``metainfo['phrases']`` / ``['phrase_labels']``,
                ``gt_instances.labels`` = phrase indices).

        Returns:
            dict[str, Tensor]: the stock losses, the branch's, and
            ``loss_grounding``.
        """
        if self.loss_word_region is None:
            raise ValueError(
                'a grounding batch (samples with metainfo["phrase_labels"]) '
                f'reached {type(self).__name__}, whose loss_word_region is '
                'None: configure loss_word_region.')
        det_samples, det_index = grounding_detection_samples(
            batch_data_samples)
        outs = self(x)
        gt, ignore, metas = unpack_gt_instances(det_samples)
        with self._record_targets() as records:
            losses = self.loss_by_feat(*outs, gt, metas, ignore)
        regions = self.grounding_regions(
            outs[-1], records,
            [s.gt_instances.bboxes for s in batch_data_samples], det_index)
        phrases, targets = grounding_phrase_targets(
            self.text_bank, batch_data_samples, regions)
        losses['loss_grounding'] = self.loss_word_region.grounded(
            regions, torch.cat(targets), phrases)
        return losses

    def grounding_regions(self, cls_feats: Sequence[Tensor],
                          records: List[tuple], boxes: Sequence[Tensor],
                          det_index: Sequence[Tensor]) -> Tensor:
        """One region embedding per grounding box.

        A box that the host's assigner gave positive locations (read from a
        ``SamplingResult`` in the recorded targets: RTMDet) is the mean of
        their branch embeddings, re-normalised; any other box (an ignored
        one, one without positives, or a host that records no
        ``SamplingResult``: YOLOX, YOLO11) is embedded at the location of
        its centre on the level where it spans about
        :attr:`grounding_box_strides` strides.

        Args:
            cls_feats (Sequence[Tensor]): per level (B, Cf, H_l, W_l).
            records (list[tuple]): per image, the recorded stock targets.
            boxes (Sequence[Tensor]): per image (n_i, 4) boxes, input frame.
            det_index (Sequence[Tensor]): per image (n_i,), each box's index
                in the detection targets or -1.

        Returns:
            Tensor: (sum n_i, D) L2-normalised, boxes in image order.
        """
        feats = self.flatten_levels(cls_feats)  # (B, N, Cf)
        B, N, Cf = feats.shape
        sizes = [f.shape[-2:] for f in cls_feats]
        starts = torch.tensor([0] + [h * w for h, w in sizes]).cumsum(0)
        strides = [float(s[0]) for s in self.prior_generator.strides]
        locs, owner = [], []
        n_regions = 0
        for b in range(B):
            sr = [r for r in records[b] if isinstance(r, SamplingResult)] \
                if b < len(records) else []
            for j, box in enumerate(boxes[b]):
                k = int(det_index[b][j])
                pos = sr[0].pos_inds[sr[0].pos_assigned_gt_inds == k] \
                    if sr and k >= 0 else feats.new_zeros(0).long()
                if not len(pos):
                    pos = self._box_centre_location(box, sizes, starts,
                                                    strides)
                locs.append(pos + b * N)
                owner.append(torch.full_like(pos, n_regions))
                n_regions += 1
        if not n_regions:
            return feats.new_zeros(0, self.text_bank.embed_dim)
        locs, owner = torch.cat(locs), torch.cat(owner)
        emb = self.branch.embed_rows(feats.reshape(B * N, Cf)[locs])
        regions = emb.new_zeros(n_regions, emb.shape[1]).index_add(
            0, owner, emb)
        return torch.nn.functional.normalize(regions, dim=-1)

    def _box_centre_location(self, box: Tensor, sizes: list, starts: Tensor,
                             strides: List[float]) -> Tensor:
        """The flat location (1,) of ``box``'s centre on its level."""
        x1, y1, x2, y2 = [float(v) for v in box]
        side = max((x2 - x1) * (y2 - y1), 1e-6)**0.5
        level = min(range(len(strides)), key=lambda i: abs(
            math.log2(side / strides[i] / self.grounding_box_strides)))
        h, w = sizes[level]
        s = strides[level]
        iy = min(max(int((y1 + y2) / 2 // s), 0), h - 1)
        ix = min(max(int((x1 + x2) / 2 // s), 0), w - 1)
        return box.new_tensor([int(starts[level]) + iy * w + ix]).long()

    # ------------------------------------------------------------------
    # inference
    # ------------------------------------------------------------------
    def clip_probs(self, embeds: Tensor, det_probs: Tensor) -> Tensor:
        """Contrastive class probabilities of embedded locations.

        Args:
            embeds (Tensor): normalised embeddings, shape (M, D).
            det_probs (Tensor): the detector's sigmoid class scores,
                shape (M, C).

        Returns:
            Tensor: ``softmax_C'(cos / tau) * (max_c det_probs) ** g``,
            (M, C'), g = :attr:`objectness_power` (default 1),
            C' the bank's classes (C unless ``set_vocabulary`` swapped in
            other names): the branch says which class, the detector whether
            (and how well localised) an object is there.
        """
        conf = det_probs.max(-1, keepdim=True)[0]
        g = self.objectness_power
        if g != 1.0:
            conf = conf.pow(g)
        return self.branch.probs(embeds, background=False) * conf

    def fuse_mlvl_scores(
            self,
            cls_scores: Sequence[Tensor],
            cls_feats: Optional[Sequence[Tensor]],
            score_thr: float = 0.0,
            score_factors: Optional[Sequence[Tensor]] = None) -> List[Tensor]:
        """Apply ``score_mode`` to multi-level classification logits.

        **Sparse and exact**: with ``sparse_fuse`` (default) only the
        locations whose ``clip`` / ``fuse`` score can still reach
        ``score_thr`` are embedded, batched over the images. Both scores are
        at most ``m = max_c p_det(c)`` at a location (``p_clip(c) <= m``, so
        ``p_det(c)^(1-a) p_clip(c)^a <= m``; ``m ** g`` with
        :attr:`objectness_power` g < 1), times the host's score factor
        when it multiplies them later (YOLOX's objectness); a location below
        the bound could not pass the post-process's threshold, so it gets a
        score of 0 instead of being embedded, and the detections equal those
        of embedding every location (``sparse_fuse=False``).

        Args:
            cls_scores (Sequence[Tensor]): per level (B, C, H_l, W_l)
                logits.
            cls_feats (Sequence[Tensor], optional): per level
                (B, Cf, H_l, W_l); None in ``det`` mode.
            score_thr (float): The post-process's score threshold.
            score_factors (Sequence[Tensor], optional): per level
                (B, 1, H_l, W_l) logits whose sigmoid the post-process
                multiplies the class scores by.

        Returns:
            list[Tensor]: per level (B, K, H_l, W_l) logits whose sigmoid
            (what the stock ``predict_by_feat`` applies) is the fused
            probability; K = C, or the bank's C' classes after
            ``set_vocabulary`` (``clip`` mode).
        """
        check_vocabulary_scoring(self, training=False)
        if self.score_mode == 'det' or cls_feats is None:
            return list(cls_scores)
        det = self.flatten_levels(cls_scores).sigmoid()  # (B, N, C)
        B, N, C = det.shape
        K = self.text_bank.num_classes
        feats = torch.cat([x.flatten(2) for x in cls_feats], dim=2)
        if not (self.sparse_fuse and score_thr > 0):
            emb = self.branch.embed(feats[..., None]).flatten(2).transpose(
                1, 2)
            clip = self.clip_probs(emb.reshape(B * N, -1),
                                   det.reshape(B * N, C)).view(B, N, K)
            probs = fuse_probs(det, clip, self.score_mode,
                               self.fuse_weights(C))
            logits = torch.logit(probs, eps=1e-6)
        else:
            det = det.reshape(B * N, C)
            idx = self._kept(det, score_thr,
                             score_factors).nonzero().squeeze(1)
            logits = det.new_full((B * N, K), -1e4)  # sigmoid: exactly 0
            if len(idx):
                x = feats.transpose(1, 2).reshape(B * N, -1)[idx]  # (K, Cf)
                # one GEMM per 1x1 conv over the kept locations of every
                # image
                emb = self.branch.embed_rows(x)
                kept = det[idx]
                probs = fuse_probs(kept, self.clip_probs(emb, kept),
                                   self.score_mode, self.fuse_weights(C))
                logits[idx] = torch.logit(probs, eps=1e-6).to(logits.dtype)
            logits = logits.view(B, N, K)
        logits = logits.transpose(1, 2)  # (B, K, N)
        sizes = [s.shape[-2] * s.shape[-1] for s in cls_scores]
        return [
            lvl.reshape(B, K, *s.shape[-2:])
            for lvl, s in zip(logits.split(sizes, dim=2), cls_scores)
        ]

    def kept_locations(
            self,
            cls_scores: Sequence[Tensor],
            score_thr: float,
            score_factors: Optional[Sequence[Tensor]] = None) -> Tensor:
        """The locations sparse ``clip`` / ``fuse`` scoring embeds: those
        whose fused score can still reach ``score_thr`` (the bound ``max_c
        p_det(c)``, times the host's score factor; see
        :meth:`fuse_mlvl_scores`).

        Args:
            cls_scores (Sequence[Tensor]): per level (B, C, H_l, W_l)
                logits.
            score_thr (float): The post-process's score threshold.
            score_factors (Sequence[Tensor], optional): per level
                (B, 1, H_l, W_l) logits of the host's score factor.

        Returns:
            Tensor: (B * N,) bool over the images' locations, levels
            concatenated (N = sum of H_l * W_l).
        """
        det = self.flatten_levels(cls_scores).sigmoid()  # (B, N, C)
        return self._kept(det.flatten(0, 1), score_thr, score_factors)

    def _kept(self, det: Tensor, score_thr: float,
              score_factors: Optional[Sequence[Tensor]]) -> Tensor:
        """:meth:`kept_locations` of (B * N, C) probabilities."""
        # the logit clamp of the fused scores lifts every probability to
        # >= 1e-6
        bound = det.max(-1)[0].clamp(min=1e-6)
        g = self.objectness_power
        if g != 1.0 and self.score_mode != 'det':
            # p_clip <= m ** g and p_det^(1-a) p_clip^a <= m ** g (m <= 1)
            bound = bound.pow(g)
        if score_factors is not None:
            bound = bound * self.flatten_levels(score_factors).reshape(
                -1).sigmoid()
        return bound >= score_thr

    def score_factors(self, stock_outs: tuple) -> Optional[Sequence[Tensor]]:
        """Per level (B, 1, H_l, W_l) logits whose sigmoid the stock
        post-process multiplies the class scores by (None; YOLOX: the
        objectness)."""
        return None

    def predict_by_feat(self,
                        *outs: Sequence[Tensor],
                        batch_img_metas: Optional[List[dict]] = None,
                        cfg: Optional[ConfigDict] = None,
                        rescale: bool = False,
                        with_nms: bool = True) -> InstanceList:
        """Fuse the scores (``score_mode``), then the stock post-process
        (in the head's label space, :attr:`cls_out_channels`).

        Args:
            *outs (Sequence[Tensor]): :meth:`forward`'s outputs: the stock
                ones (:attr:`stock_outputs`, per level, ``cls_scores``
                (B, C, H, W) logits first), then ``cls_feats`` (per level
                (B, feat_channels, H, W)) unless in ``det`` mode.
            batch_img_metas (list[dict]): image metas.
            cfg (ConfigDict, optional): test config.
            rescale (bool): rescale boxes to the original image.
            with_nms (bool): run NMS.

        Returns:
            list[:obj:`InstanceData`]: ``bboxes`` (n, 4), ``scores`` (n,)
            and ``labels`` (n,) per image.
        """
        n = len(self.stock_outputs)
        stock = outs[:n]
        cls_feats = outs[n] if len(outs) > n else None
        cfg = cfg if cfg is not None else self.test_cfg
        cls_scores = self.fuse_mlvl_scores(
            stock[0], cls_feats, cfg.get('score_thr', 0.0),
            score_factors=self.score_factors(stock))
        return super().predict_by_feat(
            cls_scores, *stock[1:], batch_img_metas=batch_img_metas,
            cfg=cfg, rescale=rescale, with_nms=with_nms)
