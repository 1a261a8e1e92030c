# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""WordRegionAlignmentLoss.grounded: known regions vs the batch's
phrases."""
import pytest
import torch
import torch.nn.functional as F

from mmdet_clipjoint.models.losses import WordRegionAlignmentLoss


def _inputs(N=5, M=3, D=8):
    torch.manual_seed(0)
    regions = F.normalize(torch.randn(N, D), dim=-1).requires_grad_()
    phrases = F.normalize(torch.randn(M, D), dim=-1).requires_grad_()
    return regions, phrases


def test_grounded_matches_hand_computation():
    regions, phrases = _inputs()
    targets = torch.tensor([0, 2, -1, 2, 1])
    loss_fn = WordRegionAlignmentLoss(temperature=0.1, symmetric=False)
    loss = loss_fn.grounded(regions, targets, phrases)
    keep = targets >= 0
    logits = regions[keep] @ phrases.t() / 0.1
    torch.testing.assert_close(loss, F.cross_entropy(logits, targets[keep]))
    sym = WordRegionAlignmentLoss(temperature=0.1).grounded(
        regions, targets, phrases)
    # phrase 2 has two positive regions: -log of their summed probability
    p = (phrases @ regions[keep].t() / 0.1).softmax(dim=1)
    t2i = -torch.stack([p[0, 0], p[1, 3], p[2, 1] + p[2, 2]]).log().mean()
    torch.testing.assert_close(sym, 0.5 * (loss + t2i))
    sym.backward()
    assert regions.grad[2].abs().sum() == 0  # left out
    assert regions.grad[0].abs().sum() > 0 and phrases.grad.abs().sum() > 0


def test_grounded_known_region_beats_wrong_one():
    regions, phrases = _inputs(N=3, M=3)
    loss_fn = WordRegionAlignmentLoss()
    aligned = loss_fn.grounded(phrases.detach().clone(), torch.arange(3),
                               phrases)
    shuffled = loss_fn.grounded(phrases.detach().clone(),
                                torch.tensor([1, 2, 0]), phrases)
    assert aligned < shuffled


def test_grounded_without_contrast_is_a_graph_zero():
    regions, phrases = _inputs(M=1)
    loss_fn = WordRegionAlignmentLoss()
    loss = loss_fn.grounded(regions, torch.zeros(5).long(), phrases)
    assert loss == 0 and loss.requires_grad
    regions, phrases = _inputs()
    loss = loss_fn.grounded(regions, torch.full((5, ), -1), phrases)
    assert loss == 0 and loss.requires_grad
    with pytest.raises(ValueError, match='phrase_embeds'):
        loss_fn.grounded(regions, torch.zeros(4).long(), phrases)
    with pytest.raises(ValueError, match='3 phrases'):
        loss_fn.grounded(regions, torch.tensor([0, 1, 2, 3, 0]), phrases)
