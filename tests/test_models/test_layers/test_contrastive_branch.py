# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""ContrastiveBranch: built from the registry, embeddings, logits,
probabilities, losses, the gradient bound as a call argument, its errors,
and the heads' refusal of the old head-level keys."""
import copy

import pytest
import torch
import torch.nn.functional as F

import mmdet_clipjoint  # noqa: F401
from mmdet.registry import MODELS
from mmdet.utils import register_all_modules
from mmdet_clipjoint.models.layers import (BRANCH_KEYS, ContrastiveBranch,
                                           GradShareFork)

register_all_modules()

C, D = 4, 8
BANK = dict(type='ContrastiveTextBank', class_names=list('abcd'),
            embed_dim=D, init_source='random', background='learned',
            cache_dir=None)


def branch(**kw):
    torch.manual_seed(0)
    cfg = dict(type='ContrastiveBranch', in_channels=6, num_classes=C,
               text_bank=copy.deepcopy(BANK), proj_hidden=5)
    cfg.update(kw)
    b = MODELS.build(cfg)
    b.init_weights()
    return b


def test_registered_and_exported():
    assert MODELS.get('ContrastiveBranch') is ContrastiveBranch
    from mmdet_clipjoint.models.layers import contrastive_branch
    assert contrastive_branch.__all__ == ['ContrastiveBranch']


@pytest.mark.parametrize('spatial', [False, True])
def test_embed_logits_probs_shapes(spatial):
    b = branch(spatial=spatial)
    rows = torch.randn(7, 6)
    emb = b.embed_rows(rows)
    assert emb.shape == (7, D) and emb.dtype == torch.float32
    torch.testing.assert_close(emb.norm(dim=-1), torch.ones(7))
    if spatial:
        maps = b.embed(torch.randn(2, 6, 3, 5))
        assert maps.shape == (2, D, 3, 5)
        # rows embed like the same features laid out as a map
        m = rows.t()[None, :, :, None]
        torch.testing.assert_close(b.embed(m)[0, :, :, 0].t(), emb)
    else:
        torch.testing.assert_close(b.embed(rows), emb)
    assert b.logits(emb).shape == (7, C + 1)  # background last
    p = b.probs(emb)
    assert p.shape == (7, C + 1)
    torch.testing.assert_close(p.sum(-1), torch.ones(7))
    p = b.probs(emb, background=False)
    assert p.shape == (7, C)
    torch.testing.assert_close(p.sum(-1), torch.ones(7))


def test_loss_counts_each_region_once():
    """Foreground (InfoNCE) + background (aux CE) with equal weights is one
    (C + 1)-way CE per region, over ``avg_factor``."""
    b = branch()
    torch.manual_seed(1)
    emb = F.normalize(torch.randn(30, D), dim=-1)
    labels = torch.randint(0, C + 1, (30, ))
    labels[:6] = C
    weights = torch.ones(30)
    losses = b.loss(emb, labels, weights, torch.tensor(30.))
    assert set(losses) == {'loss_contrast', 'loss_clip_ce', 'acc_clip'}
    ref = F.cross_entropy(b.logits(emb), labels)
    torch.testing.assert_close(
        losses['loss_contrast'] + losses['loss_clip_ce'], ref)
    # background of weight 0 is not trained
    w0 = weights.clone()
    w0[labels == C] = 0
    assert b.loss(emb, labels, w0, torch.tensor(30.))['loss_clip_ce'] == 0


def test_loss_without_background_regions_or_aux():
    b = branch()
    emb = F.normalize(torch.randn(5, D), dim=-1)
    labels = torch.tensor([0, 1, 2, 3, 0])
    out = b.loss(emb, labels, torch.ones(5), torch.tensor(5.))
    assert out['loss_clip_ce'] == 0 and out['loss_clip_ce'].requires_grad
    b = branch(loss_aux=None)
    assert 'loss_clip_ce' not in b.loss(emb, labels, torch.ones(5),
                                        torch.tensor(5.))


def test_logit_adjust_is_the_ce_with_the_running_prior():
    """logit_adjust=tau: both terms together are one (C + 1)-way CE of
    ``logits + tau * log(prior)``, the prior counted over every trained
    sample so far (Laplace-smoothed, background included), kept in a
    checkpointed buffer; inference logits are untouched."""
    plain, b = branch(), branch(logit_adjust=1.0)
    assert 'label_counts' not in plain.state_dict()  # off: no new state
    torch.manual_seed(2)
    emb = F.normalize(torch.randn(40, D), dim=-1)
    labels = torch.tensor([C] * 24 + [0] * 12 + [1] * 3 + [2])  # 3: none
    weights = torch.ones(40)
    weights[:4] = 0  # four background samples not trained: not counted
    losses = b.loss(emb, labels, weights, torch.tensor(36.))
    counts = torch.tensor([12., 3., 1., 0., 20.], dtype=torch.float64)
    torch.testing.assert_close(b.label_counts, counts)
    prior = (counts + 1) / (counts.sum() + C + 1)
    ref = F.cross_entropy(b.logits(emb) + prior.log().float(), labels,
                          reduction='none')[4:].mean()
    torch.testing.assert_close(
        losses['loss_contrast'] + losses['loss_clip_ce'], ref)
    # the same batch without adjustment gives another loss: a rare class
    # must now win by a margin, so its terms grow
    unadj = F.cross_entropy(b.logits(emb), labels, reduction='none')
    adj = F.cross_entropy(b.logits(emb) + prior.log().float(), labels,
                          reduction='none')
    assert (adj[labels == 2] > unadj[labels == 2]).all()
    # the counts run on (a second batch adds to them) and are saved
    b.loss(emb, labels, weights, torch.tensor(36.))
    torch.testing.assert_close(b.label_counts, 2 * counts)
    other = branch(logit_adjust=1.0)
    other.load_state_dict(b.state_dict())
    torch.testing.assert_close(other.label_counts, 2 * counts)
    # inference is unchanged: probs are the raw logits' softmax
    torch.testing.assert_close(b.probs(emb), b.logits(emb).softmax(-1))
    # tau scales the adjustment; no background entry: C columns
    half = branch(logit_adjust=0.5, loss_aux=None,
                  text_bank=dict(BANK, background=None))
    assert half.label_counts.shape == (C, )
    fg = labels[24:]
    out = half.loss(emb[24:], fg, torch.ones(16), torch.tensor(16.))
    cnt = torch.tensor([12., 3., 1., 0.], dtype=torch.float64)
    p = (cnt + 1) / (cnt.sum() + C)
    torch.testing.assert_close(
        out['loss_contrast'],
        F.cross_entropy(half.logits(emb[24:]) + 0.5 * p.log().float(), fg))
    # trained under another vocabulary's width: a clear error
    with pytest.raises(ValueError, match='training vocabulary'):
        b.adjust_logits(torch.zeros(3, C + 3), torch.zeros(3).long(),
                        torch.ones(3))


def test_grad_share_is_a_call_argument():
    b = branch(max_grad_share=0.5)
    x = torch.randn(3, 6, requires_grad=True)
    b.train()
    host, br = b.fork(x)
    assert br.grad_fn is not None and \
        br.grad_fn.__class__.__name__.startswith(GradShareFork.__name__)
    host, br = b.fork(x, bound=False)
    assert host is x and br is x  # unbounded: no fork at all
    b.eval()  # no bound at inference
    host, br = b.fork(x)
    assert host is x and br is x
    assert b.max_grad_share == 0.5  # the config value is left alone


@pytest.mark.parametrize('kw,match', [
    (dict(num_classes=3), 'num_classes=3'),
    (dict(loss_aux=dict(type='CrossEntropyLoss', loss_weight=-1.0)),
     'loss_aux.loss_weight must be >= 0'),
    (dict(text_bank=dict(BANK, background=None)), 'background entry'),
    (dict(max_grad_share=-0.1), 'max_grad_share=-0.1 must be >= 0'),
    (dict(logit_adjust=-1.0), 'logit_adjust=-1.0 must be >= 0'),
])
def test_clear_errors(kw, match):
    with pytest.raises(ValueError, match=match):
        branch(**kw)


def test_old_head_level_keys_say_where_they_moved():
    """A (child) config written for the flat layout gets an error naming
    the new place of its keys."""
    from ..test_dense_heads._helpers import config_path, head_cfg
    cfg = head_cfg(config_path('clipjoint_rtmdet',
                               'clipjoint-rtmdet_tiny_8xb32-300e_coco.py'))
    for key in BRANCH_KEYS:
        bad = copy.deepcopy(cfg)
        bad[key] = bad.branch.get(key, 1.0)
        with pytest.raises(ValueError, match=f"{key} at the head level; "
                           r"these keys moved into the head's branch="):
            MODELS.build(bad)
    bad = copy.deepcopy(cfg)
    bad.branch.text_bank = bad.text_bank
    with pytest.raises(ValueError, match='head key text_bank'):
        MODELS.build(bad)


def test_head_exposes_branch_parts_read_only():
    from ..test_dense_heads._helpers import build, config_path
    head = build(config_path('clipjoint_rtmdet',
                             'clipjoint-rtmdet_tiny_8xb32-300e_coco.py'))
    assert head.text_bank is head.branch.text_bank
    assert head.proj is head.branch.proj
    assert head.max_grad_share == head.branch.max_grad_share == 1.0
    for name in ('text_bank', 'proj', 'max_grad_share'):
        with pytest.raises(AttributeError):
            setattr(head, name, None)
    assert all(k.startswith('branch.') for k in head.state_dict()
               if 'text_bank' in k or 'proj.' in k)


def test_vocabulary_label_space_is_state():
    """After bank.set_classes the head's label space is the new names,
    without touching num_classes; training is refused before the stock
    losses run."""
    from ..test_dense_heads._helpers import (build, config_path, feats,
                                             samples)
    head = build(config_path('clipjoint_rtmdet',
                             'clipjoint-rtmdet_tiny_8xb32-300e_coco.py'))
    assert head.num_labels == head.cls_out_channels == head.num_classes == 80
    assert not head.vocabulary_swapped
    head.text_bank.set_classes(['x', 'y'], F.normalize(
        torch.randn(2, head.text_bank.embed_dim), dim=-1))
    assert head.vocabulary_swapped
    assert head.num_labels == head.cls_out_channels == 2
    assert head.num_classes == 80
    head.train()
    with pytest.raises(RuntimeError, match='inference only'):
        head.loss(feats(96), samples([1, 1]))
