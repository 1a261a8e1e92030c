# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""How much of the gradient reaching the shared trunk comes from the branch.

The contrastive branch must not dominate the detector's gradient in the
parameters both share (backbone, neck, the detector head's shared layers).
:func:`branch_grad_share` measures it on one batch: the gradient of the
detector's own losses alone, ``g_det``, and of all losses, ``g_all``; the
branch's part is ``g_all - g_det`` (which is what it adds in a training step,
gradient bound included), and the share is ``|g_all - g_det| / |g_det|``.
"""
from typing import Dict, Iterable, Optional, Sequence

import torch
from torch import nn

__all__ = ['BRANCH_LOSSES', 'branch_grad_share', 'grad_share_at_init']

#: the loss keys of the ClipJoint branch
BRANCH_LOSSES = ('loss_contrast', 'loss_clip_ce')


def _sum(losses: dict, keep) -> torch.Tensor:
    total = 0.
    for k, v in losses.items():
        if 'loss' not in k or not keep(k):
            continue
        total = total + (sum(v) if isinstance(v, (list, tuple)) else v)
    return total


def branch_grad_share(model: nn.Module,
                      data: dict,
                      params: Optional[Iterable[nn.Parameter]] = None,
                      branch_losses: Sequence[str] = BRANCH_LOSSES
                      ) -> Dict[str, float]:
    """Gradient of the branch relative to the detector's, on one batch.

    Args:
        model (nn.Module): A ClipJoint detector (``BaseDetector``).
        data (dict): One batch as a dataloader yields it (``inputs`` and
            ``data_samples``); it goes through ``model.data_preprocessor``.
        params (Iterable[nn.Parameter], optional): The shared parameters to
            measure; default the backbone's and the neck's.
        branch_losses (Sequence[str]): Loss keys that belong to the branch.

    Returns:
        dict: ``share`` (``|g_all - g_det| / |g_det|``), ``det_norm`` and
        ``branch_norm`` over the parameters.
    """
    model.train()
    if params is None:
        params = [p for n, p in model.named_parameters()
                  if n.startswith(('backbone.', 'neck.')) and p.requires_grad]
    params = list(params)
    data = model.data_preprocessor(data, True)
    losses = model(**data, mode='loss')
    det = _sum(losses, lambda k: k not in branch_losses)
    total = _sum(losses, lambda k: True)
    g_det = torch.autograd.grad(det, params, retain_graph=True,
                                allow_unused=True)
    g_all = torch.autograd.grad(total, params, allow_unused=True)

    def flat(gs):
        return torch.cat([(g if g is not None else torch.zeros_like(p))
                          .flatten() for g, p in zip(gs, params)])

    d, a = flat(g_det), flat(g_all)
    det_norm, branch_norm = float(d.norm()), float((a - d).norm())
    return dict(share=branch_norm / max(det_norm, 1e-30), det_norm=det_norm,
                branch_norm=branch_norm)


def grad_share_at_init(detector: str, bound: Optional[float], data: dict,
                       work_dir: str) -> Dict[str, float]:
    """:func:`branch_grad_share` of a main config at initialisation.

    The detector's main ClipJoint config is shrunk for CPU
    (:func:`~mmdet_clipjoint.utils.shrink_config`, 128 px, ``data``'s
    classes, random text bank) with ``branch.max_grad_share=bound`` (None:
    unbounded) and fed one batch of ``mmdet.testing.demo_mm_inputs``
    (2 images, 3 + 2 boxes).

    Args:
        detector (str): Key of :data:`~.experiments.DETECTORS`.
        bound (float, optional): The head's ``max_grad_share``.
        data (dict): ``make_synthetic_dataset`` output (its classes).
        work_dir (str): The shrunk config's work dir.
    """
    from mmengine.dataset import pseudo_collate

    from mmdet.registry import MODELS
    from mmdet.testing import demo_mm_inputs
    from ..utils import shrink_config
    from ..utils.config_files import load_config
    from .experiments import DETECTORS
    cfg = shrink_config(load_config(DETECTORS[detector]['clipjoint']),
                        data, work_dir, img_size=128)
    head = cfg.model.roi_head.bbox_head if detector == 'frcnn' else \
        cfg.model.bbox_head
    head.text_bank.update(init_source='random', cache_dir=None)
    head.branch.max_grad_share = bound
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    packed = demo_mm_inputs(batch_size=2, image_shapes=[(3, 128, 128)] * 2,
                            num_items=[3, 2],
                            num_classes=len(data['classes']))
    batch = pseudo_collate([
        dict(inputs=i, data_samples=s)
        for i, s in zip(packed['inputs'], packed['data_samples'])
    ])
    return branch_grad_share(model, batch)
