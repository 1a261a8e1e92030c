# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""The contrastive branch every ClipJoint head owns: projection, text bank
and the two losses."""
from typing import Dict, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.dist import all_reduce
from mmengine.model import BaseModule
from torch import Tensor

from mmdet.models.losses import accuracy
from mmdet.registry import MODELS
from mmdet.utils import ConfigType, OptConfigType, OptMultiConfig
from .grad_share import fork_with_grad_share

__all__ = ['ContrastiveBranch']


@MODELS.register_module()
class ContrastiveBranch(BaseModule):
    """Projection into the text bank's space, the bank, and the branch's
    losses: what a ClipJoint head adds to its host detector.

    The host hands over the feature that feeds its classifier (a RoI's
    shared-FC feature, or a one-stage head's per-location classifier
    feature); the branch embeds it (2-layer MLP, L2-normalised in float32),
    compares it with the class text embeddings (cosine / class temperature,
    :class:`ContrastiveTextBank`) and trains it with one cross-entropy per
    sampled region, split so that no region counts twice:

    * ``loss_contrast``: InfoNCE on the foreground regions (their class is
      the positive text);
    * ``loss_clip_ce``: the auxiliary CE of the background regions towards
      the bank's background entry (needs one; None: off).

    With ``logit_adjust=tau > 0`` both terms are *logit-adjusted* (Menon et
    al., 2021, "Long-tail learning via logit adjustment"; Balanced Softmax,
    Ren et al., 2020): while training, every logit column k gets
    ``+ tau * log(prior_k)``, the prior being the share of column k among
    the samples the branch has trained so far (a running count kept in the
    buffer ``label_counts``, saved with the checkpoint, summed over ranks,
    Laplace-smoothed). A rare class must then win by a margin, so at
    inference (raw logits, ``clip`` / ``fuse`` scoring) it is no longer
    drowned by its frequent neighbours. Inference is unchanged.

    With ``margin=m > 0`` each foreground region's own class logit is
    lowered by ``m / tau_y`` while training (the additive cosine margin of
    CosFace, Wang et al., 2018; the shift carries no gradient into the
    learnable temperatures, which could otherwise grow to escape it): a
    region must be closer to its class's row than to any other by m in
    cosine. CLIP rows of neighbouring classes sit
    close (car-truck cosine 0.93), so without a margin they differ by about
    one logit; the margin asks for a gap. Inference is unchanged.

    Where the branch forks off the host's feature, its gradient into the
    shared trunk is bounded (:meth:`fork`, :func:`fork_with_grad_share`):
    at most ``max_grad_share`` times the host's own; a call that should not
    be bounded (caption batches: no detection loss to bound by) says so with
    ``bound=False``.

    Args:
        in_channels (int): Width Cf of the host feature.
        num_classes (int): The host's class count C; the bank must name as
            many classes.
        text_bank (dict): Config of a :class:`ContrastiveTextBank` (the
            head's ``text_bank`` key).
        proj_hidden (int): Hidden width of the projection MLP.
        spatial (bool): Project feature maps (B, Cf, H, W) with 1x1 convs
            (one-stage heads) instead of rows (N, Cf) with linear layers
            (RoI heads).
        loss_contrast (dict): Config of the foreground (InfoNCE) loss.
        loss_aux (dict, optional): Config of the background CE (None: off).
        max_grad_share (float, optional): Bound of the branch's gradient
            into the trunk relative to the host's at the fork (None:
            unbounded).
        logit_adjust (float): tau of the training-time logit adjustment by
            the running label prior (0: off, the default; 1: Menon et al.'s
            choice). Only the training losses see it.
        margin (float): m of the additive cosine margin on the foreground
            regions' own class (0: off, the default). Only the InfoNCE term
            sees it (the auxiliary CE trains background regions).
        owner (str): The head's name, for error messages.
        background_samples (str): What the auxiliary CE trains (e.g.
            ``'background RoIs'``), for error messages.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 in_channels: int,
                 num_classes: int,
                 text_bank: ConfigType,
                 proj_hidden: int = 256,
                 spatial: bool = False,
                 loss_contrast: ConfigType = dict(
                     type='InfoNCELoss', loss_weight=1.0),
                 loss_aux: OptConfigType = dict(
                     type='CrossEntropyLoss', use_sigmoid=False,
                     loss_weight=1.0),
                 max_grad_share: Optional[float] = 1.0,
                 logit_adjust: float = 0.0,
                 margin: float = 0.0,
                 owner: str = 'the head',
                 background_samples: str = 'background samples',
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.num_classes = num_classes
        self.text_bank = MODELS.build(text_bank)
        if self.text_bank.num_classes != num_classes:
            raise ValueError(
                f'The text bank has {self.text_bank.num_classes} class names '
                f'but {owner} has num_classes={num_classes}. Give the bank '
                'one name per class (in dataset order) or fix num_classes.')
        self.loss_contrast = MODELS.build(loss_contrast)
        self.loss_aux = MODELS.build(loss_aux) if loss_aux else None
        for name, loss in (('loss_contrast', self.loss_contrast),
                           ('loss_aux', self.loss_aux)):
            if loss is not None and getattr(loss, 'loss_weight', 0) < 0:
                raise ValueError(f'{name}.loss_weight must be >= 0.')
        if self.loss_aux is not None and not self.text_bank.with_background:
            raise ValueError(
                f'loss_aux trains the {background_samples} towards the text '
                "bank's background entry, but the bank has background=None. "
                "Set the bank's background to 'learned' or 'zero', or "
                'loss_aux=None.')
        if max_grad_share is not None and max_grad_share < 0:
            raise ValueError(f'max_grad_share={max_grad_share} must be >= 0 '
                             '(or None for no bound).')
        self.max_grad_share = max_grad_share
        if not logit_adjust >= 0:
            raise ValueError(
                f'logit_adjust={logit_adjust} must be >= 0 (0: off; 1: the '
                'logit-adjusted loss of Menon et al.).')
        self.logit_adjust = float(logit_adjust)
        if isinstance(margin, bool) or not isinstance(
                margin, (int, float)) or not 0 <= margin < 2:
            raise ValueError(
                f'margin={margin!r} must be a number in [0, 2) (a cosine '
                'margin; 0: off).')
        self.margin = float(margin)
        if self.logit_adjust > 0:
            # samples trained per logit column (classes, then background)
            width = num_classes + int(self.text_bank.with_background)
            self.register_buffer('label_counts',
                                 torch.zeros(width, dtype=torch.float64))
        self.spatial = bool(spatial)
        embed_dim = self.text_bank.embed_dim
        if self.spatial:
            self.proj = nn.Sequential(
                nn.Conv2d(in_channels, proj_hidden, 1), nn.ReLU(inplace=True),
                nn.Conv2d(proj_hidden, embed_dim, 1))
        else:
            self.proj = nn.Sequential(
                nn.Linear(in_channels, proj_hidden), nn.ReLU(inplace=True),
                nn.Linear(proj_hidden, embed_dim))

    def init_weights(self) -> None:
        """``init_cfg`` and the text bank's initialisation (BaseModule),
        then PyTorch's default initialisation for the projection's convs
        (a host's own init, e.g. RTMDet's N(0, 0.01) over every conv,
        reaches them too); linear layers keep theirs."""
        super().init_weights()
        for m in self.proj.modules():
            if isinstance(m, nn.Conv2d):
                m.reset_parameters()

    # ------------------------------------------------------------------
    # forward pieces
    # ------------------------------------------------------------------
    def fork(self, x: Tensor, bound: bool = True) -> Tuple[Tensor, Tensor]:
        """Fork the host's feature for the host and the branch.

        Args:
            x (Tensor): The host feature, any shape ((N, Cf) or
                (B, Cf, H, W)).
            bound (bool): Bound the branch's gradient into the trunk by
                ``max_grad_share`` (while training); False: unbounded.

        Returns:
            tuple[Tensor]: ``(for the host, for the branch)``, both ``x``.
        """
        share = self.max_grad_share if bound and self.training else None
        return fork_with_grad_share(x, share)

    def embed(self, feats: Tensor) -> Tensor:
        """Project host features into the joint space.

        Args:
            feats (Tensor): (N, Cf) rows, or (B, Cf, H, W) maps when
                ``spatial``.

        Returns:
            Tensor: float32 embeddings L2-normalised over D (dim 1), shape
            (N, D) or (B, D, H, W) (the normalisation in float32 also
            under mixed precision).
        """
        return F.normalize(self.proj(feats).float(), dim=1)

    def embed_rows(self, feats: Tensor) -> Tensor:
        """Embed gathered feature rows (sampled locations / regions).

        Args:
            feats (Tensor): shape (S, Cf).

        Returns:
            Tensor: shape (S, D). With 1x1 convs the rows are laid out as
            one (1, Cf, S, 1) map, so each conv is one GEMM.
        """
        if not self.spatial:
            return self.embed(feats)
        return self.embed(feats.t()[None, :, :, None])[0, :, :, 0].t()

    def logits(self, emb: Tensor) -> Tensor:
        """Contrastive logits of embeddings.

        Args:
            emb (Tensor): normalised embeddings, shape (N, D).

        Returns:
            Tensor: shape (N, C' + 1) with a background entry (last), else
            (N, C'); C' the bank's classes (C unless ``set_vocabulary``
            swapped in other names).
        """
        return self.text_bank(emb)

    def probs(self, emb: Tensor, background: bool = True) -> Tensor:
        """Contrastive probabilities of embeddings.

        Args:
            emb (Tensor): normalised embeddings, shape (N, D).
            background (bool): Include the bank's background entry (when it
                has one) in the softmax; False: softmax over the C' classes
                only.

        Returns:
            Tensor: shape (N, C' + 1) or (N, C').
        """
        logits = self.logits(emb)
        if not background:
            logits = logits[:, :self.text_bank.num_classes]
        return logits.softmax(-1)

    # ------------------------------------------------------------------
    # training
    # ------------------------------------------------------------------
    def adjust_logits(self, logits: Tensor, labels: Tensor,
                      weights: Tensor) -> Tensor:
        """Count this batch's trained samples and logit-adjust by the prior.

        Args:
            logits (Tensor): (N, K) training logits, K = C (+ 1 with a
                background entry).
            labels (Tensor): (N,) targets in ``[0, C]``, C = background.
            weights (Tensor): (N,) weights; samples of weight 0 are not
                trained and not counted.

        Returns:
            Tensor: ``logits + logit_adjust * log(prior)``, shape (N, K);
            ``logits`` itself when ``logit_adjust`` is 0.
        """
        if self.logit_adjust == 0:
            return logits
        K = self.label_counts.numel()
        if logits.size(1) != K:
            raise ValueError(
                f'logit_adjust: the branch counts {K} logit columns (its '
                f'{self.num_classes} training classes'
                f'{" and background" if K > self.num_classes else ""}) but '
                f'got {logits.size(1)}: train with the training vocabulary '
                '(set_vocabulary is for inference).')
        trained = weights > 0
        idx = labels[trained].clamp(0, K - 1).long()
        counts = torch.bincount(idx, minlength=K).to(self.label_counts)
        all_reduce(counts, op='sum')
        self.label_counts += counts
        prior = (self.label_counts + 1) / (self.label_counts.sum() + K)
        return logits + (self.logit_adjust * prior.log()).to(logits)

    def margin_logits(self, logits: Tensor, labels: Tensor) -> Tensor:
        """Lower each foreground region's own class logit by the margin.

        Args:
            logits (Tensor): (N, K) training logits ``cos / tau``.
            labels (Tensor): (N,) targets in ``[0, C]``, C = background.

        Returns:
            Tensor: (N, K), ``logit[i, y_i] - margin / tau_{y_i}`` for the
            foreground regions i; ``logits`` itself when ``margin`` is 0.
        """
        if self.margin == 0:
            return logits
        C = self.num_classes
        fg = ((labels >= 0) & (labels < C)).nonzero().squeeze(1)
        if not len(fg):
            return logits
        cls = labels[fg].long()
        # the margin is m in cosine at the current temperature: no gradient
        # through the shift, else raising tau is a way out of the margin
        # (seen on the semantic benchmark: a class temperature went to the
        # clamp, 1.0)
        scales = self.text_bank.logit_scales()[:C].detach().to(logits)
        shift = torch.zeros_like(logits)
        shift[fg, cls] = self.margin * scales[cls]
        return logits - shift

    def loss(self, emb: Tensor, labels: Tensor, weights: Tensor,
             avg_factor: Tensor) -> Dict[str, Tensor]:
        """The branch's losses on sampled regions.

        Args:
            emb (Tensor): normalised embeddings, shape (N, D).
            labels (Tensor): targets in ``[0, C]``, C = background, (N,).
            weights (Tensor): per-region weights, (N,); background regions
                of weight 0 are not trained.
            avg_factor (Tensor): the host classification loss' normaliser
                (already averaged over ranks).

        Returns:
            dict[str, Tensor]: ``loss_contrast``, ``loss_clip_ce`` (when
            ``loss_aux`` is on), ``loss_text_drift`` (when the bank has a
            drift weight) and the logged ``acc_clip`` (when foreground
            regions exist).
        """
        logits = self.logits(emb)
        C = self.num_classes
        trained = self.adjust_logits(logits, labels, weights)
        losses = dict(
            loss_contrast=self.loss_contrast(
                self.margin_logits(trained, labels), labels,
                weight=weights, avg_factor=avg_factor, num_classes=C))
        fg = (labels >= 0) & (labels < C)
        if self.loss_aux is not None:
            bg = ~fg & (weights > 0)
            losses['loss_clip_ce'] = self.loss_aux(
                trained[bg], torch.full_like(labels[bg], C), weights[bg],
                avg_factor=avg_factor) if bg.any() else trained.sum() * 0
        if self.text_bank.drift_weight > 0:
            losses['loss_text_drift'] = self.text_bank.drift_loss()
        if fg.any():
            losses['acc_clip'] = accuracy(logits[fg, :C], labels[fg])
        return losses

    def extra_repr(self) -> str:
        return (f'num_classes={self.num_classes}, spatial={self.spatial}, '
                f'max_grad_share={self.max_grad_share}, '
                f'logit_adjust={self.logit_adjust}' +
                (f', margin={self.margin:g}' if self.margin else ''))
