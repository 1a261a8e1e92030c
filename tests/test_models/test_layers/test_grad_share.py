# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""fork_with_grad_share: identity forward, bounded branch gradient."""
import pytest
import torch

from mmdet_clipjoint.models.layers import fork_with_grad_share


def _grads(max_share, host_scale, branch_scale):
    torch.manual_seed(0)
    x = torch.randn(8, 16, requires_grad=True)
    w_h, w_b = torch.randn(16, 4), torch.randn(16, 4)
    h, b = fork_with_grad_share(x, max_share)
    assert torch.equal(h, x) and torch.equal(b, x)
    (host_scale * (h @ w_h).pow(2).sum() +
     branch_scale * (b @ w_b).pow(2).sum()).backward()
    g_total = x.grad.clone()
    x.grad = None
    (host_scale * (x @ w_h).pow(2).sum()).backward()
    g_host = x.grad.clone()
    return g_host, g_total - g_host


@pytest.mark.parametrize('max_share', [0.0, 0.1, 1.0])
def test_branch_share_bounded(max_share):
    g_host, g_branch = _grads(max_share, 1.0, 100.0)  # branch dominates
    ratio = g_branch.norm() / g_host.norm()
    assert ratio <= max_share + 1e-4
    if max_share:
        torch.testing.assert_close(ratio, torch.tensor(max_share),
                                   rtol=1e-4, atol=1e-6)


def test_small_branch_passes_unchanged():
    g_host, g_branch = _grads(1.0, 100.0, 1.0)  # branch already small
    _, free = _grads(None, 100.0, 1.0)
    torch.testing.assert_close(g_branch, free)


def test_host_alone_and_branch_alone():
    x = torch.randn(3, 2, requires_grad=True)
    h, b = fork_with_grad_share(x, 0.5)
    h.sum().backward()  # the branch is not in this graph
    torch.testing.assert_close(x.grad, torch.ones(3, 2))
    x.grad = None
    h, b = fork_with_grad_share(x, 0.5)
    b.sum().backward()  # no host gradient: nothing of the branch crosses
    assert torch.equal(x.grad, torch.zeros(3, 2))


def test_no_bound_and_no_grad_are_plain_identity():
    x = torch.randn(2, 2, requires_grad=True)
    h, b = fork_with_grad_share(x, None)
    assert h is x and b is x
    with torch.no_grad():
        h, b = fork_with_grad_share(x, 1.0)
    assert h is x and b is x
