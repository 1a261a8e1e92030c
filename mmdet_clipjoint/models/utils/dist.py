# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Cross-rank helpers of the contrastive losses."""
from typing import Optional, Tuple

import torch
import torch.distributed as dist
from torch import Tensor

from mmdet.utils import reduce_mean

__all__ = ['all_gather_with_grad', 'reduce_mean_factor']


def _dist_ready() -> bool:
    return dist.is_available() and dist.is_initialized() and \
        dist.get_world_size() > 1


def reduce_mean_factor(value: Tensor, min_value: float = 1.0) -> Tensor:
    """Average a normaliser over the ranks and clamp it (as mmdet's
    one-stage heads do with ``reduce_mean(avg_factor).clamp_(min=1)``).

    Args:
        value (Tensor): This rank's normaliser, a scalar.
        min_value (float): Lower bound of the result.

    Returns:
        Tensor: the mean over ranks (this rank's value when not
        distributed), detached, at least ``min_value``.
    """
    return reduce_mean(value.detach().float().clone()).clamp(min=min_value)


def all_gather_with_grad(
        logits: Tensor,
        labels: Tensor) -> Optional[Tuple[Tensor, Tensor, int]]:
    """Gather every rank's region rows, keeping the gradient of the logits.

    Ranks may hold different numbers of rows: they are padded to the
    largest count for the collective and the padding is dropped again.
    The backward pass (``torch.distributed.nn.functional.all_gather``)
    sums the gradients that all ranks' losses send to this rank's rows,
    which, with DDP's averaging of parameter gradients, gives the gradient
    of the mean loss over ranks.

    Args:
        logits (Tensor): (N_r, K) this rank's rows.
        labels (Tensor): (N_r,) their labels.

    Returns:
        tuple | None: ``(logits (N, K), labels (N,), offset)``
        over all ranks in rank order, ``offset`` being the index of this
        rank's first row; None when not running distributed.
    """
    if not _dist_ready():
        return None
    from torch.distributed.nn.functional import all_gather
    world, rank = dist.get_world_size(), dist.get_rank()
    n = torch.tensor([len(labels)], device=logits.device)
    counts = [torch.zeros_like(n) for _ in range(world)]
    dist.all_gather(counts, n)
    counts = [int(c) for c in counts]
    pad = max(counts) - len(labels)

    def padded(x: Tensor) -> Tensor:
        return torch.cat([x, x.new_zeros((pad, ) + x.shape[1:])]) if pad \
            else x

    g_logits = all_gather(padded(logits))  # differentiable
    g_labels = [torch.zeros_like(padded(labels)) for _ in range(world)]
    dist.all_gather(g_labels, padded(labels))
    out_logits = torch.cat([g[:c] for g, c in zip(g_logits, counts)])
    out_labels = torch.cat([g[:c] for g, c in zip(g_labels, counts)])
    return out_logits, out_labels, sum(counts[:rank])
