# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""DetCLIPv2's word-region alignment loss over image-caption pairs.

The similarity of image ``I_i`` and caption ``T_j`` is the mean, over the
caption's phrases, of each phrase's best cosine with any region of the
image (a maximum word-region similarity, FILIP / DetCLIPv2); an InfoNCE
over the batch's B x B pairs then pulls every image towards its own caption
and away from the others.

Grounding data (phrases with their boxes) need no best-region guess: each
phrase's region is known. :meth:`WordRegionAlignmentLoss.grounded` contrasts
each known region with the batch's phrases instead (the region-word
contrast DetCLIPv2 applies to detection and grounding data).
"""
import math
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmdet.registry import MODELS

__all__ = ['WordRegionAlignmentLoss', 'similarity_matrix']


def _check_inputs(region_embeds: Tensor, region_mask: Optional[Tensor],
                  phrase_embeds: Tensor, phrase_mask: Optional[Tensor]
                  ) -> Tuple[Tensor, Tensor]:
    """Validate shapes; return boolean masks (all True where None)."""
    if region_embeds.dim() != 3 or phrase_embeds.dim() != 3:
        raise ValueError(
            'region_embeds must be (B, K, D) and phrase_embeds (B, P, D), '
            f'got {tuple(region_embeds.shape)} and '
            f'{tuple(phrase_embeds.shape)}: pad every image to K regions and '
            'every caption to P phrases and pass the masks.')
    B, K, D = region_embeds.shape
    if phrase_embeds.shape[0] != B or phrase_embeds.shape[2] != D:
        raise ValueError(
            f'phrase_embeds {tuple(phrase_embeds.shape)} does not fit '
            f'region_embeds {tuple(region_embeds.shape)}: one caption per '
            'image (same B) and the same width D are needed.')
    P = phrase_embeds.shape[1]
    masks = []
    for mask, shape, name in ((region_mask, (B, K), 'region_mask'),
                              (phrase_mask, (B, P), 'phrase_mask')):
        if mask is None:
            mask = torch.ones(shape, dtype=torch.bool,
                              device=region_embeds.device)
        elif tuple(mask.shape) != shape or mask.dtype != torch.bool:
            raise ValueError(
                f'{name} must be a bool tensor of shape {shape} (True = a '
                f'valid entry), got {mask.dtype} {tuple(mask.shape)}.')
        masks.append(mask)
    return masks[0], masks[1]


def similarity_matrix(region_embeds: Tensor,
                      region_mask: Optional[Tensor],
                      phrase_embeds: Tensor,
                      phrase_mask: Optional[Tensor]) -> Tensor:
    """Image-caption similarities from word-region maxima.

    ``s[i, j] = mean_{p valid in T_j} max_{k valid in I_i}
    cos(phrase_{j, p}, region_{i, k})``.

    Computed in float32 (autocast off). The inputs are taken as they are:
    pass L2-normalised embeddings for cosines.

    Args:
        region_embeds (Tensor): (B, K, D) region embeddings, K regions per
            image (top-K proposals, padded).
        region_mask (Tensor, optional): (B, K) bool, True for real regions;
            None means all are.
        phrase_embeds (Tensor): (B, P, D) phrase embeddings, one caption
            per image with P phrases (padded).
        phrase_mask (Tensor, optional): (B, P) bool, True for real phrases;
            None means all are.

    Returns:
        Tensor: (B, B) float32, row i an image, column j a caption. Rows of
        images without a valid region and columns of captions without a
        valid phrase are 0 (undefined; the loss leaves such pairs out).
    """
    region_mask, phrase_mask = _check_inputs(region_embeds, region_mask,
                                             phrase_embeds, phrase_mask)
    with torch.autocast(region_embeds.device.type, enabled=False):
        regions = region_embeds.float()
        phrases = phrase_embeds.float()
        # cos[i, j, p, k]: phrase p of caption j vs region k of image i
        cos = torch.einsum('ikd,jpd->ijpk', regions, phrases)
        # a finite fill below any cosine (no -inf: no NaN in backward)
        low = cos.detach().min() - 1 if cos.numel() else cos.new_tensor(-2.)
        cos = torch.where(region_mask[:, None, None, :], cos, low)
        best = cos.max(dim=-1).values if cos.shape[-1] else \
            cos.new_zeros(cos.shape[:-1])  # (B, B, P)
        has_region = region_mask.any(dim=1)  # (B,)
        best = torch.where(has_region[:, None, None], best,
                           torch.zeros_like(best))
        pm = phrase_mask.float()  # (B, P)
        n_phrases = pm.sum(dim=1)  # (B,)
        sim = (best * pm[None]).sum(dim=-1) / n_phrases.clamp(min=1)[None]
    return sim


@MODELS.register_module()
class WordRegionAlignmentLoss(nn.Module):
    """InfoNCE over image-caption pairs with word-region similarities.

    With ``s`` from :func:`similarity_matrix` and logits ``s / tau``, the
    image -> text term is the cross entropy of each image over the
    captions of the batch (target: its own caption), the text -> image
    term that of each caption over the images; ``symmetric=True`` averages
    both, ``symmetric=False`` keeps image -> text only.

    Pairs left out of the loss (rows and columns both dropped): an image
    with no valid region or a caption with no valid phrase (e.g. no kept
    proposal, no parsable noun phrase). With fewer than two pairs left the
    contrast has no negative: the loss is then ``0 * (sum of the inputs)``,
    a zero that keeps every input in the autograd graph (so DDP sees all
    parameters used) and logs as a finite 0. This is always the case for
    B = 1 per rank (no cross-rank gathering is done here).

    Computed in float32 with autocast off: ``1 / tau`` (~14) would amplify
    the rounding of half-precision cosines.

    Args:
        temperature (float): tau (CLIP: 0.07).
        learn_temperature (bool): Train tau (as ``log(1 / tau)``, clamped to
            ``temperature_range``).
        loss_weight (float): Weight of the loss, >= 0.
        symmetric (bool): Add the text -> image direction.
        temperature_range (tuple[float, float]): ``(min, max)`` clamp of a
            learned tau.
    """

    def __init__(self,
                 temperature: float = 0.07,
                 learn_temperature: bool = False,
                 loss_weight: float = 1.0,
                 symmetric: bool = True,
                 temperature_range: Tuple[float, float] = (0.01, 1.0)
                 ) -> None:
        super().__init__()
        t_min, t_max = temperature_range
        if not 0 < t_min <= temperature <= t_max:
            raise ValueError(
                f'temperature={temperature} must be > 0 and inside '
                f'temperature_range={tuple(temperature_range)} (both > 0).')
        if loss_weight < 0:
            raise ValueError(f'WordRegionAlignmentLoss loss_weight='
                             f'{loss_weight} must be >= 0 (0 disables it).')
        self.loss_weight = float(loss_weight)
        self.symmetric = bool(symmetric)
        self.temperature_range = (float(t_min), float(t_max))
        self.log_scale = nn.Parameter(
            torch.tensor(math.log(1.0 / temperature)),
            requires_grad=learn_temperature)

    @property
    def temperature(self) -> Tensor:
        """The current (clamped) tau, a scalar."""
        return 1.0 / self.logit_scale()

    def logit_scale(self) -> Tensor:
        """Clamped ``1 / tau``, a scalar."""
        t_min, t_max = self.temperature_range
        return self.log_scale.clamp(math.log(1.0 / t_max),
                                    math.log(1.0 / t_min)).exp()

    def forward(self, region_embeds: Tensor, region_mask: Optional[Tensor],
                phrase_embeds: Tensor,
                phrase_mask: Optional[Tensor]) -> Tensor:
        """Compute the loss.

        Args:
            region_embeds (Tensor): (B, K, D) L2-normalised region
                embeddings (top-K regions per image, padded).
            region_mask (Tensor, optional): (B, K) bool, True for real
                regions (None: all).
            phrase_embeds (Tensor): (B, P, D) L2-normalised phrase
                embeddings of each image's caption (padded).
            phrase_mask (Tensor, optional): (B, P) bool, True for real
                phrases (None: all).

        Returns:
            Tensor: the weighted loss, a float32 scalar.
        """
        sim = similarity_matrix(region_embeds, region_mask, phrase_embeds,
                                phrase_mask)
        region_mask, phrase_mask = _check_inputs(region_embeds, region_mask,
                                                 phrase_embeds, phrase_mask)
        keep = region_mask.any(dim=1) & phrase_mask.any(dim=1)
        if int(keep.sum()) < 2:
            return 0. * (region_embeds.float().sum() +
                         phrase_embeds.float().sum() + self.log_scale)
        idx = keep.nonzero(as_tuple=True)[0]
        with torch.autocast(sim.device.type, enabled=False):
            logits = sim[idx][:, idx] * self.logit_scale().float()
            target = torch.arange(len(idx), device=logits.device)
            loss = F.cross_entropy(logits, target)
            if self.symmetric:
                loss = 0.5 * (loss + F.cross_entropy(logits.t(), target))
        return self.loss_weight * loss

    def grounded(self, region_embeds: Tensor, targets: Tensor,
                 phrase_embeds: Tensor) -> Tensor:
        """The loss of regions whose phrase is known (grounding data).

        Region -> phrase: the cross entropy of each region over the M
        phrases of the batch (target: its own phrase), logits ``cos / tau``;
        with ``symmetric=True`` averaged with phrase -> region, each phrase
        over the N regions with all of its own regions positive
        (``-log sum_pos softmax``), over the phrases that have a region.
        With fewer than two phrases or no region there is nothing to
        contrast: ``0 * (sum of the inputs)`` (in the graph, finite).

        Args:
            region_embeds (Tensor): (N, D) L2-normalised embeddings of the
                known regions.
            targets (Tensor): (N,) long, each region's row in
                ``phrase_embeds``; -1 leaves a region out.
            phrase_embeds (Tensor): (M, D) L2-normalised phrase embeddings.

        Returns:
            Tensor: the weighted loss, a float32 scalar.
        """
        if region_embeds.dim() != 2 or phrase_embeds.dim() != 2 or \
                targets.shape != region_embeds.shape[:1] or \
                region_embeds.shape[1] != phrase_embeds.shape[1]:
            raise ValueError(
                'grounded() takes region_embeds (N, D), targets (N,) and '
                f'phrase_embeds (M, D), got {tuple(region_embeds.shape)}, '
                f'{tuple(targets.shape)} and {tuple(phrase_embeds.shape)}.')
        keep = targets >= 0
        zero = 0. * (region_embeds.float().sum() +
                     phrase_embeds.float().sum() + self.log_scale)
        if int(keep.sum()) == 0 or phrase_embeds.shape[0] < 2:
            return zero
        if int(targets.max()) >= phrase_embeds.shape[0]:
            raise ValueError(f'targets reach {int(targets.max())} but there '
                             f'are {phrase_embeds.shape[0]} phrases.')
        with torch.autocast(region_embeds.device.type, enabled=False):
            regions = region_embeds[keep].float()
            tgt = targets[keep]
            logits = regions @ phrase_embeds.float().t() * \
                self.logit_scale().float()  # (N, M)
            loss = F.cross_entropy(logits, tgt)
            if self.symmetric:
                pos = F.one_hot(tgt, phrase_embeds.shape[0]).t().bool()
                has = pos.any(dim=1)  # phrases with a region
                log_p = logits.t().log_softmax(dim=1)  # (M, N)
                per_phrase = -torch.logsumexp(
                    log_p.masked_fill(~pos, float('-inf'))[has], dim=1)
                loss = 0.5 * (loss + per_phrase.mean())
        return self.loss_weight * loss

    def extra_repr(self) -> str:
        return (f'temperature={float(self.temperature):.4g}, '
                f'learn_temperature={self.log_scale.requires_grad}, '
                f'symmetric={self.symmetric}, loss_weight={self.loss_weight}')
