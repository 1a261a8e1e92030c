# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""DetCLIPv2 word-region alignment: the similarity on hand-built vectors,
masks, the InfoNCE over pairs, degenerate batches and gradients."""
import math

import pytest
import torch
import torch.nn.functional as F

import mmdet_clipjoint  # noqa: F401
from mmdet.registry import MODELS
from mmdet_clipjoint.models.layers import ConceptWordTable
from mmdet_clipjoint.models.losses import (WordRegionAlignmentLoss,
                                           similarity_matrix)

D = 8


def basis(i):
    return F.one_hot(torch.tensor(i), D).float()


def unit(*pairs):
    """A unit vector from (axis, weight) pairs."""
    v = sum(w * basis(a) for a, w in pairs)
    return v / v.norm()


def brute_force(regions, rmask, phrases, pmask):
    B = regions.shape[0]
    s = torch.zeros(B, B)
    for i in range(B):
        for j in range(B):
            r = regions[i][rmask[i]]
            p = phrases[j][pmask[j]]
            if len(r) and len(p):
                s[i, j] = (p @ r.t()).max(dim=1).values.mean()
    return s


def test_similarity_of_known_vectors():
    """Phrase e0 has best region e0 in image 0 (cos 1); phrase (e1+e2)/√2
    best matches region e1 there (cos 1/√2); s is the mean over phrases."""
    regions = torch.stack([
        torch.stack([basis(0), basis(1), basis(5)]),  # image 0
        torch.stack([basis(3), unit((0, 1), (3, 1)), basis(4)]),  # image 1
    ])
    phrases = torch.stack([
        torch.stack([basis(0), unit((1, 1), (2, 1))]),  # caption 0
        torch.stack([basis(3), basis(6)]),  # caption 1
    ])
    s = similarity_matrix(regions, None, phrases, None)
    r2 = 1 / math.sqrt(2)
    expected = torch.tensor([
        [(1 + r2) / 2, (0 + 0) / 2],  # image 0 vs captions 0, 1
        [(r2 + 0) / 2, (1 + 0) / 2],  # image 1: e0 best via (e0+e3)/√2
    ])
    torch.testing.assert_close(s, expected)
    assert s.dtype == torch.float32


def test_masks_exclude_padding():
    """A padded region equal to the phrase must not be its max, a padded
    phrase must not enter the mean."""
    regions = torch.stack([
        torch.stack([unit((0, 1), (1, 1)), basis(0)]),  # 2nd is padding
    ])
    phrases = torch.stack([torch.stack([basis(0), basis(7)])])
    rmask = torch.tensor([[True, False]])
    pmask = torch.tensor([[True, False]])  # basis(7) is padding
    s = similarity_matrix(regions, rmask, phrases, pmask)
    torch.testing.assert_close(s, torch.tensor([[1 / math.sqrt(2)]]))
    # without masks: the padded region wins, the padded phrase scores 0
    s_all = similarity_matrix(regions, None, phrases, None)
    torch.testing.assert_close(s_all, torch.tensor([[0.5]]))


def test_similarity_matches_brute_force_on_random_inputs():
    torch.manual_seed(0)
    B, K, P = 4, 5, 3
    regions = F.normalize(torch.randn(B, K, D), dim=-1)
    phrases = F.normalize(torch.randn(B, P, D), dim=-1)
    rmask = torch.rand(B, K) > 0.3
    pmask = torch.rand(B, P) > 0.3
    rmask[0] = False  # an image without regions
    pmask[1] = False  # a caption without phrases
    rmask[2, 0] = pmask[2, 0] = True
    s = similarity_matrix(regions, rmask, phrases, pmask)
    torch.testing.assert_close(s, brute_force(regions, rmask, phrases,
                                              pmask))
    assert (s[0] == 0).all() and (s[:, 1] == 0).all()


def matched_batch(B=4, K=3, P=2, noise=0.1, seed=0):
    """Captions whose phrases are noisy copies of their image's regions."""
    g = torch.Generator().manual_seed(seed)
    regions = F.normalize(torch.randn(B, K, 16, generator=g), dim=-1)
    phrases = F.normalize(
        regions[:, :P] + noise * torch.randn(B, P, 16, generator=g), dim=-1)
    return regions, phrases


def test_infonce_equals_cross_entropy_and_direction():
    regions, phrases = matched_batch()
    loss_fn = WordRegionAlignmentLoss(temperature=0.1, loss_weight=2.0)
    s = similarity_matrix(regions, None, phrases, None)
    t = torch.arange(4)
    i2t = F.cross_entropy(s / 0.1, t)
    t2i = F.cross_entropy(s.t() / 0.1, t)
    torch.testing.assert_close(loss_fn(regions, None, phrases, None),
                               2.0 * 0.5 * (i2t + t2i))
    one_way = WordRegionAlignmentLoss(temperature=0.1, symmetric=False)
    torch.testing.assert_close(one_way(regions, None, phrases, None), i2t)


def test_matched_pairs_score_lower_than_shuffled():
    regions, phrases = matched_batch(B=6)
    loss_fn = MODELS.build(dict(type='WordRegionAlignmentLoss'))
    matched = loss_fn(regions, None, phrases, None)
    shuffled = loss_fn(regions, None, phrases.roll(1, dims=0), None)
    assert matched < 0.5 * shuffled
    assert matched < math.log(6) < shuffled  # chance level in between


def test_empty_pairs_are_left_out():
    """An image without regions / a caption without phrases drops its
    pair: the loss equals the loss of the remaining pairs."""
    regions, phrases = matched_batch(B=5)
    rmask = torch.ones(5, 3, dtype=torch.bool)
    pmask = torch.ones(5, 2, dtype=torch.bool)
    rmask[1] = False
    pmask[3] = False
    loss_fn = WordRegionAlignmentLoss()
    keep = torch.tensor([0, 2, 4])
    ref = loss_fn(regions[keep], None, phrases[keep], None)
    out = loss_fn(regions, rmask, phrases, pmask)
    torch.testing.assert_close(out, ref)
    assert torch.isfinite(out)


@pytest.mark.parametrize('case', ['b1', 'one_valid_pair'])
def test_no_negatives_gives_a_graph_connected_zero(case):
    regions, phrases = matched_batch(B=1 if case == 'b1' else 3)
    regions.requires_grad_(True)
    phrases.requires_grad_(True)
    rmask = torch.ones(regions.shape[:2], dtype=torch.bool)
    if case == 'one_valid_pair':
        rmask[1:] = False
    loss_fn = WordRegionAlignmentLoss(learn_temperature=True)
    loss = loss_fn(regions, rmask, phrases, None)
    assert loss.item() == 0.0 and loss.requires_grad
    loss.backward()
    assert regions.grad is not None and phrases.grad is not None
    assert loss_fn.log_scale.grad is not None
    assert torch.isfinite(regions.grad).all()


def test_gradients_reach_regions_and_learned_temperature():
    regions, phrases = matched_batch(B=4)
    regions.requires_grad_(True)
    rmask = torch.ones(4, 3, dtype=torch.bool)
    rmask[2, 1:] = False  # padded regions of image 2
    loss_fn = WordRegionAlignmentLoss(learn_temperature=True)
    loss_fn(regions, rmask, phrases, None).backward()
    g = regions.grad
    assert torch.isfinite(g).all() and g.abs().sum() > 0
    assert (g[2, 1:] == 0).all()  # padding gets no gradient
    assert loss_fn.log_scale.grad is not None and \
        loss_fn.log_scale.grad != 0
    frozen = WordRegionAlignmentLoss()
    assert not frozen.log_scale.requires_grad
    torch.testing.assert_close(frozen.temperature, torch.tensor(0.07))


def test_end_to_end_gradient_reaches_exactly_the_used_words():
    words = ['dog', 'cat', 'frisbee', 'red', 'car', 'unused', 'tree']
    table = ConceptWordTable(words, embed_dim=16, seed=1)
    captions = [['a red car', 'tree'], ['the dog', 'a cat'], ['frisbee']]
    P = max(map(len, captions))
    flat = [p for c in captions for p in c]
    emb = table.encode_phrases(flat)
    phrases = emb.new_zeros(3, P, 16)
    pmask = torch.zeros(3, P, dtype=torch.bool)
    n = 0
    for b, c in enumerate(captions):
        phrases[b, :len(c)] = emb[n:n + len(c)]
        pmask[b, :len(c)] = True
        n += len(c)
    regions = F.normalize(torch.randn(3, 4, 16), dim=-1).requires_grad_()
    loss = WordRegionAlignmentLoss()(regions, None, phrases, pmask)
    loss.backward()
    grad_norm = table.weight.grad.norm(dim=1)
    used = torch.tensor([w != 'unused' for w in words])
    assert (grad_norm[used] > 0).all()
    assert (grad_norm[~used] == 0).all()
    assert regions.grad.abs().sum() > 0


def test_half_precision_inputs_are_computed_in_float32():
    regions, phrases = matched_batch()
    loss_fn = WordRegionAlignmentLoss()
    ref = loss_fn(regions, None, phrases, None)
    out = loss_fn(regions.bfloat16(), None, phrases.bfloat16(), None)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, ref, atol=0.05, rtol=0.05)


@pytest.mark.parametrize('kw,match', [
    (dict(temperature=0.0), 'temperature'),
    (dict(temperature=5.0), 'temperature'),
    (dict(loss_weight=-1.0), 'loss_weight'),
])
def test_bad_arguments(kw, match):
    with pytest.raises(ValueError, match=match):
        WordRegionAlignmentLoss(**kw)


def test_bad_shapes_and_masks():
    regions, phrases = matched_batch(B=2)
    loss_fn = WordRegionAlignmentLoss()
    with pytest.raises(ValueError, match=r'\(B, K, D\)'):
        loss_fn(regions[0], None, phrases, None)
    with pytest.raises(ValueError, match='same B'):
        loss_fn(regions, None, phrases[:1], None)
    with pytest.raises(ValueError, match='region_mask'):
        loss_fn(regions, torch.ones(2, 3), phrases, None)
    with pytest.raises(ValueError, match='phrase_mask'):
        loss_fn(regions, None, phrases, torch.ones(2, 5, dtype=torch.bool))
