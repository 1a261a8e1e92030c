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
    # per foreground region: the mean of its two directions; t2r softmax
    # over all 4 rows of its class' column
    r2t = torch.logsumexp(logits, 1) - logits[torch.arange(4), labels.clamp(
        max=2)]
    t2r = torch.stack([
        torch.logsumexp(logits[:, 0], 0) - logits[0, 0],
        torch.logsumexp(logits[:, 0], 0) - logits[1, 0],
        torch.logsumexp(logits[:, 2], 0) - logits[2, 2]])
    ref = (0.5 * (r2t[:3] + t2r)).mean()
    torch.testing.assert_close(full, ref)


def test_weighted_text_to_region_is_a_non_negative_average():
    """Weights in the numerator only (the old form) could go negative; the
    weighted average of -log p is >= 0 whatever the weights."""
    torch.manual_seed(0)
    for trial in range(20):
        logits = 5 * torch.randn(12, 5)
        labels = torch.randint(0, 6, (12, ))  # 5 = background
        w = torch.rand(12) * 4
        loss = infonce_loss(logits, labels, 5, weight=w, symmetric=True)
        per = infonce_loss(logits, labels, 5, weight=w, symmetric=True,
                           reduction='none')
        assert loss >= 0 and (per >= 0).all(), trial
        fg = labels < 5
        if fg.any():
            torch.testing.assert_close(loss, per.sum() / w[fg].sum())


def test_background_regions_are_not_anchors():
    """Background rows only act as negatives (t2r denominators): their own
    row never enters the loss, so the aux CE can own them."""
    torch.manual_seed(0)
    logits = torch.randn(5, 4, requires_grad=True)  # 3 classes + bg entry
    labels = torch.tensor([0, 1, 3, 3, 2])
    infonce_loss(logits, labels, 3, symmetric=False).backward()
    assert logits.grad[2:4].abs().sum() == 0
    assert logits.grad[[0, 1, 4]].abs().sum() > 0


def test_registered_loss_weight_and_reduction():
    loss_fn = MODELS.build(
        dict(type='InfoNCELoss', symmetric=True, loss_weight=0.5))
    logits = torch.randn(5, 4, requires_grad=True)
    labels = torch.tensor([0, 1, 2, 3, 4])
    base = infonce_loss(logits, labels, 4, symmetric=True)
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
