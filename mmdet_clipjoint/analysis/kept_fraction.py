# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""How many locations a trained one-stage ClipJoint head embeds in sparse
``fuse`` / ``clip`` scoring: the workload the speed benchmark's
``--kept-fraction`` stands for (issue 24, item 4)."""
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch

__all__ = ['kept_fractions']


def kept_fractions(model: torch.nn.Module,
                   images: Sequence[str],
                   score_thr: Optional[float] = None) -> Dict:
    """Run ``inference_detector`` in ``fuse`` mode and record, per image,
    the fraction of its locations whose fused score could still reach the
    post-process's score threshold -- the ones sparse scoring embeds
    (:meth:`ClipJointDenseMixin.kept_locations`).

    Args:
        model (nn.Module): A one-stage ClipJoint detector (e.g. from
            ``init_detector``), in eval mode; its score mode is restored.
        images (Sequence[str]): Image files.
        score_thr (float, optional): The threshold (default: the head's
            ``test_cfg.score_thr``).

    Returns:
        dict: ``per_image`` (list of fractions), ``mean``, ``median``,
        ``max``, ``score_thr``, ``locations`` (per image).

    Raises:
        ValueError: no ClipJoint dense head, or no image.
    """
    from mmdet.apis import inference_detector

    from ..models.dense_heads.clipjoint_dense_mixin import ClipJointDenseMixin
    from ..models.layers import set_score_mode
    head = getattr(model, 'bbox_head', None)
    if not isinstance(head, ClipJointDenseMixin):
        raise ValueError(
            'kept_fractions needs a one-stage ClipJoint detector (its '
            f'bbox_head a ClipJointDenseMixin), got {type(head).__name__}; '
            'Faster R-CNN scores its sampled RoIs, not locations.')
    if not images:
        raise ValueError('kept_fractions: no image given.')
    thr = head.test_cfg.get('score_thr', 0.0) if score_thr is None \
        else float(score_thr)
    fractions: List[float] = []
    sizes: List[int] = []
    fuse = head.fuse_mlvl_scores

    def recording(cls_scores, cls_feats, score_thr=0.0, score_factors=None):
        kept = head.kept_locations(cls_scores, thr, score_factors)
        per_image = kept.view(cls_scores[0].shape[0], -1)
        fractions.extend(per_image.float().mean(1).tolist())
        sizes.extend([per_image.shape[1]] * per_image.shape[0])
        # scored at the threshold asked for
        return fuse(cls_scores, cls_feats, thr, score_factors)

    mode = head.score_mode
    set_score_mode(model, 'fuse')
    head.fuse_mlvl_scores = recording  # this instance, for this call
    try:
        with torch.no_grad():
            for path in images:
                inference_detector(model, path)
    finally:
        del head.fuse_mlvl_scores
        set_score_mode(model, mode)
    arr = np.asarray(fractions)
    return dict(per_image=fractions, mean=float(arr.mean()),
                median=float(np.median(arr)), max=float(arr.max()),
                score_thr=thr, locations=sizes)
