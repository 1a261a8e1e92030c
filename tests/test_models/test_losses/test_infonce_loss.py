# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
import pytest
import torch
import torch.nn.functional as F

from mmdet.registry import MODELS
import mmdet_clipjoint  # noqa: F401
from mmdet_clipjoint.models.losses import infonce_loss


def test_region_to_text_equals_cross_entropy():
    torch.manual_seed(0)
    logits = torch.randn(6, 5)
    labels = torch.tensor([0, 1, 4, 2, 5, -1])  # 5 and -1: background
    loss = infonce_loss(logits, labels, num_classes=5, symmetric=False)
    pos = labels[(labels >= 0) & (labels < 5)]
    ref = F.cross_entropy(logits[:4], pos)
    torch.testing.assert_close(loss, ref)


def test_text_to_region_term():
    torch.manual_seed(0)
    logits = torch.randn(4, 3)
    labels = torch.tensor([0, 0, 2, 3])  # class 1 absent, row 3 background
    full = infonce_loss(logits, labels, num_classes=3, symmetric=True)
    r2t = infonce_loss(logits, labels, num_classes=3, symmetric=False)
    # class 0: positives rows 0,1 over all 4 rows; class 2: row 2
    l0 = torch.logsumexp(logits[:, 0], 0) - torch.logsumexp(logits[:2, 0], 0)
    l2 = torch.logsumexp(logits[:, 2], 0) - logits[2, 2]
    torch.testing.assert_close(full, 0.5 * (r2t + (l0 + l2) / 2))


def test_registered_loss_weight_and_reduction():
    loss_fn = MODELS.build(dict(type='InfoNCELoss', loss_weight=0.5))
    logits = torch.randn(5, 4, requires_grad=True)
    labels = torch.tensor([0, 1, 2, 3, 4])
    base = infonce_loss(logits, labels, 4)
    torch.testing.assert_close(loss_fn(logits, labels, num_classes=4),
                               0.5 * base)
    none = loss_fn(logits, labels, num_classes=4, reduction_override='none')
    assert none.shape == (5, ) and none[4] == 0
    s = loss_fn(logits, labels, num_classes=4, reduction_override='sum')
    assert torch.isfinite(s)


def test_zero_positives_zero_loss_with_graph():
    logits = torch.randn(3, 4, requires_grad=True)
    labels = torch.full((3, ), 4)
    loss = MODELS.build(dict(type='InfoNCELoss'))(logits, labels,
                                                  num_classes=4)
    assert loss.item() == 0.0 and loss.requires_grad
    loss.backward()
    assert torch.equal(logits.grad, torch.zeros_like(logits))


def test_numerically_stable_for_huge_logits():
    logits = torch.tensor([[1e4, -1e4, 0.0], [-1e4, 1e4, 5e3]],
                          requires_grad=True)
    loss = infonce_loss(logits, torch.tensor([1, 1]), 3)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(logits.grad).all()


def test_weights_scale_terms():
    logits = torch.randn(4, 3)
    labels = torch.tensor([0, 1, 2, 0])
    w = torch.tensor([1.0, 0.0, 0.0, 0.0])
    loss = infonce_loss(logits, labels, 3, weight=w, symmetric=False)
    torch.testing.assert_close(loss, F.cross_entropy(logits[:1], labels[:1]))


def test_negative_loss_weight_rejected():
    with pytest.raises(ValueError, match='>= 0'):
        MODELS.build(dict(type='InfoNCELoss', loss_weight=-1.0))
