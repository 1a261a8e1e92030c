# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""A fork of a feature whose second branch may not dominate its gradient."""
from typing import Optional, Tuple

import torch
from torch import Tensor

__all__ = ['GradShareFork', 'fork_with_grad_share']


class GradShareFork(torch.autograd.Function):
    """Identity fork ``x -> (x_host, x_branch)`` with a bounded backward.

    In the backward pass both gradients arrive together; the branch's is
    scaled by ``min(1, max_share * |g_host| / |g_branch|)`` (Frobenius
    norms over the whole tensor), so what flows further back into the
    shared trunk is ``g_host + s * g_branch`` with ``|s * g_branch| <=
    max_share * |g_host|``. The branch's own parameters (behind
    ``x_branch``) are not affected: only the gradient that crosses the
    fork is bounded. The bound is relative to the host's gradient *in the
    same backward pass*: when the host sends nothing (e.g. a backward of
    the branch's losses alone), nothing of the branch crosses either.
    """

    @staticmethod
    def forward(ctx, x: Tensor, max_share: float) -> Tuple[Tensor, Tensor]:
        ctx.max_share = float(max_share)
        ctx.set_materialize_grads(False)
        return x.view_as(x), x.view_as(x)

    @staticmethod
    def backward(ctx, g_host: Optional[Tensor],
                 g_branch: Optional[Tensor]) -> tuple:
        if g_branch is None:
            return g_host, None
        if g_host is None:
            return torch.zeros_like(g_branch), None
        n_host = g_host.float().norm()
        n_branch = g_branch.float().norm()
        scale = (ctx.max_share * n_host / n_branch.clamp(min=1e-30)).clamp(
            max=1.0)
        return g_host + g_branch * scale.to(g_branch.dtype), None


def fork_with_grad_share(x: Tensor,
                         max_share: Optional[float]) -> Tuple[Tensor, Tensor]:
    """Fork ``x`` for the host head and the contrastive branch.

    Args:
        x (Tensor): The shared feature, any shape (e.g. (N, C) RoI
            features or (B, C, H, W) maps).
        max_share (float, optional): Bound of the branch's gradient norm
            relative to the host's at the fork (None: no bound, both
            outputs are ``x``; 0: the branch never reaches the trunk).

    Returns:
        tuple[Tensor]: ``(x_host, x_branch)``, both equal to ``x``.
    """
    if max_share is None or not torch.is_grad_enabled() or \
            not x.requires_grad:
        return x, x
    return GradShareFork.apply(x, max_share)
