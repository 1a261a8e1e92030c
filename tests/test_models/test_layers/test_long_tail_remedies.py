# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""The long-tail remedies of the semantic benchmark that are options of the
branch, the bank and the heads: a cosine margin on the own class, class
temperatures by frequency, fusion weighted by frequency."""
import math

import pytest
import torch
import torch.nn.functional as F

from mmdet.registry import MODELS
import mmdet_clipjoint  # noqa: F401
from mmdet_clipjoint.models.layers.score_fusion import (
    ScoreModeMixin, frequency_fuse_weights, fuse_probs)

NAMES = ('car', 'truck', 'bus', 'cat')


def bank(**kw):
    cfg = dict(type='ContrastiveTextBank', class_names=NAMES, embed_dim=16,
               init_source='random', cache_dir=None)
    cfg.update(kw)
    return MODELS.build(cfg)


def branch(**kw):
    return MODELS.build(
        dict(type='ContrastiveBranch', in_channels=8, num_classes=4,
             text_bank=dict(type='ContrastiveTextBank', class_names=NAMES,
                            embed_dim=16, init_source='random',
                            cache_dir=None), proj_hidden=8, **kw))


# ---------------------------------------------------------------- margin
def test_margin_lowers_only_the_own_class_logit_by_m_over_tau():
    b = branch(margin=0.2)
    with torch.no_grad():
        b.text_bank.log_scale.copy_(torch.log(1 / torch.tensor(
            [0.05, 0.07, 0.1, 0.2, 0.07])))
    logits = torch.randn(5, 5)
    labels = torch.tensor([0, 3, 4, 2, 0])  # 4 = background
    out = b.margin_logits(logits, labels)
    diff = logits - out
    scales = b.text_bank.logit_scales()
    expected = torch.zeros(5, 5)
    for i, y in enumerate(labels.tolist()):
        if y < 4:
            expected[i, y] = 0.2 * scales[y]
    torch.testing.assert_close(diff, expected.detach())
    # off: the same tensor
    assert branch().margin_logits(logits, labels) is logits


def test_margin_raises_the_contrastive_loss_and_not_the_aux_ce():
    torch.manual_seed(0)
    plain, with_margin = branch(), branch(margin=0.3)
    with_margin.load_state_dict(plain.state_dict())
    emb = F.normalize(torch.randn(6, 16), dim=-1)
    labels = torch.tensor([0, 1, 2, 3, 4, 4])
    weights = torch.ones(6)
    a = plain.loss(emb, labels, weights, torch.tensor(6.))
    b = with_margin.loss(emb, labels, weights, torch.tensor(6.))
    assert b['loss_contrast'] > a['loss_contrast']
    torch.testing.assert_close(a['loss_clip_ce'], b['loss_clip_ce'])
    torch.testing.assert_close(a['acc_clip'], b['acc_clip'])


def test_margin_gives_no_gradient_to_the_temperatures():
    # a temperature could otherwise grow to escape the margin
    b = branch(margin=0.5)
    logits = torch.zeros(3, 5, requires_grad=True)
    labels = torch.tensor([0, 1, 4])
    b.margin_logits(logits, labels).sum().backward()
    assert b.text_bank.log_scale.grad is None
    torch.testing.assert_close(logits.grad, torch.ones(3, 5))


@pytest.mark.parametrize('bad', [-0.1, 2.0, True, 'big'])
def test_margin_out_of_range_is_a_clear_error(bad):
    with pytest.raises(ValueError, match='margin'):
        branch(margin=bad)


# ------------------------------------------------ frequency temperatures
def test_frequency_temperatures_follow_the_counts():
    b = bank(temperature_power=0.5, background='learned')
    counts = torch.tensor([400., 100., 25., 0.])
    tau = b.frequency_temperatures(counts)
    n = counts.clamp(min=1)
    gmean = math.exp(n.log().mean().item())
    expected = (0.07 * (n / gmean).pow(0.5)).clamp(0.01, 1.0)
    torch.testing.assert_close(tau, expected)
    # rarer -> sharper
    assert (tau[:-1] > tau[1:]).all()
    bg = b.log_scale[-1].item()
    b.set_class_counts(counts, init_temperatures=True)
    torch.testing.assert_close(b.temperatures()[:4], expected)
    assert b.log_scale[-1].item() == bg  # the background keeps its own
    torch.testing.assert_close(b.class_counts, counts)


def test_counts_of_a_loaded_bank_leave_its_temperatures():
    b = bank(temperature_power=0.5)
    before = b.log_scale.detach().clone()
    b.set_class_counts([5, 6, 7, 8], init_temperatures=False)
    assert torch.equal(b.log_scale, before)
    assert b.class_counts.tolist() == [5, 6, 7, 8]
    # power 0: counts recorded, temperatures untouched
    c = bank()
    c.set_class_counts([5, 6, 7, 8], init_temperatures=True)
    assert torch.equal(c.log_scale, before)


def test_frequency_temperature_errors():
    with pytest.raises(ValueError, match='temperature_power'):
        bank(temperature_power=-1)
    with pytest.raises(ValueError, match='shared_temperature'):
        bank(temperature_power=0.1, shared_temperature=True)
    with pytest.raises(ValueError, match='one count per class'):
        bank().set_class_counts([1, 2, 3], init_temperatures=True)
    with pytest.raises(ValueError, match='>= 0'):
        bank().set_class_counts([1, -2, 3, 4], init_temperatures=True)


def test_class_counts_travel_with_the_checkpoint_and_old_ones_load():
    b = bank()
    assert not b.class_counts_known
    b.set_class_counts([3, 0, 9, 1], init_temperatures=True)
    state = b.state_dict()
    c = bank()
    c.load_state_dict(state)
    assert c.class_counts.tolist() == [3, 0, 9, 1] and c.class_counts_known
    # a checkpoint written before the counts existed: unknown (zeros)
    del state['class_counts']
    d = bank()
    d.load_state_dict(state)
    assert not d.class_counts_known


def test_set_classes_keeps_the_counts_of_known_names():
    b = bank()
    b.set_class_counts([3, 4, 5, 6], init_temperatures=True)
    b.set_classes(['cat', 'dog', 'car'], F.normalize(torch.randn(3, 16), -1))
    assert b.class_counts.tolist() == [6, 0, 3]


# ------------------------------------------------ frequency-weighted fusion
def test_frequency_fuse_weights():
    counts = torch.tensor([100., 25., 1., 0.])
    w = frequency_fuse_weights(counts, 0.5, 0.5)
    torch.testing.assert_close(
        w, torch.tensor([0.5, 1 - 0.5 * 0.5, 1 - 0.5 * 0.1, 1.0]))
    # power 0: alpha everywhere except a class without boxes (0 ** 0 = 1)
    torch.testing.assert_close(
        frequency_fuse_weights(counts[:3], 0.3, 0.0), torch.full((3, ), 0.3))


def test_fuse_probs_with_one_weight_per_class_is_columnwise():
    det, clip = torch.rand(6, 4), torch.rand(6, 4)
    alpha = torch.tensor([0.5, 0.7, 0.9, 1.0])
    got = fuse_probs(det, clip, 'fuse', alpha)
    for k in range(4):
        torch.testing.assert_close(
            got[:, k], fuse_probs(det[:, k:k + 1], clip[:, k:k + 1], 'fuse',
                                  float(alpha[k]))[:, 0])
    torch.testing.assert_close(got[:, 3], clip[:, 3])


class _Head(ScoreModeMixin):

    def __init__(self, text_bank, power):
        self.text_bank = text_bank
        self.score_mode = 'fuse'
        self.fuse_alpha = 0.4
        self.fuse_frequency_power = power


def test_head_fuse_weights_and_the_background_column():
    b = bank()
    assert _Head(b, 0.0).fuse_weights(5) == 0.4
    head = _Head(b, 0.5)
    with pytest.raises(ValueError, match='holds no counts'):
        head.fuse_weights(4)
    b.set_class_counts([100, 25, 4, 1], init_temperatures=False)
    w = head.fuse_weights(4)
    torch.testing.assert_close(
        w, frequency_fuse_weights(b.class_counts, 0.4, 0.5))
    w5 = head.fuse_weights(5)  # RoI heads: background last keeps alpha
    assert w5.shape == (5, ) and w5[-1].item() == pytest.approx(0.4)
    torch.testing.assert_close(w5[:4], w)
    with pytest.raises(ValueError, match='fuse_frequency_power'):
        head.fuse_frequency_power = -1
