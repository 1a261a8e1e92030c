# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""kept_fractions: the locations sparse fused scoring embeds (issue 24,
item 4), counted through a real inference_detector call."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.registry import init_default_scope

from mmdet_clipjoint.analysis import kept_fractions
from ..helpers import small_cfg

RTMDET = 'configs/clipjoint_rtmdet/clipjoint-rtmdet_tiny_8xb32-300e_coco.py'


@pytest.fixture(scope='module')
def tiny_rtmdet(synthetic_coco, tmp_path_factory):
    from mmdet.registry import MODELS
    init_default_scope('mmdet')
    cfg = small_cfg(tmp_path_factory.mktemp('kept'), RTMDET, synthetic_coco,
                    img_size=64)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.cfg = cfg
    images = sorted(glob.glob(osp.join(synthetic_coco['data_root'], 'val',
                                       '*.jpg')))
    return model.eval(), images


def test_threshold_bounds_and_count(tiny_rtmdet):
    model, images = tiny_rtmdet
    head = model.bbox_head
    everything = kept_fractions(model, images, score_thr=0.0)
    nothing = kept_fractions(model, images, score_thr=1.01)
    assert everything['per_image'] == [1.0] * len(images)
    assert nothing['per_image'] == [0.0] * len(images)
    assert head.score_mode == 'det'  # restored
    assert 'fuse_mlvl_scores' not in vars(head)


def test_fraction_is_what_sparse_scoring_embeds(tiny_rtmdet):
    """At a threshold between the scores, the fraction equals the share of
    locations whose max det probability reaches it, counted here from the
    head's raw outputs; the count is what embed_rows receives."""
    model, images = tiny_rtmdet
    head = model.bbox_head
    rows = []
    embed_rows = head.branch.embed_rows

    def counting(x):
        rows.append(x.shape[0])
        return embed_rows(x)

    head.branch.embed_rows = counting
    # the random head's prior bias puts every score near 0.01: lift the
    # finest level's to 0.5, so that only its locations can reach 0.3
    bias = head.rtm_cls[0].bias
    saved = bias.detach().clone()
    with torch.no_grad():
        bias.zero_()
    try:
        res = kept_fractions(model, images[:1], score_thr=0.3)
    finally:
        del head.branch.embed_rows
        with torch.no_grad():
            bias.copy_(saved)
    n = res['locations'][0]
    # stride 8 holds 16 / 21 of the locations of strides 8, 16 and 32
    assert res['per_image'][0] == pytest.approx(16 / 21, abs=1e-6)
    assert rows == [round(res['per_image'][0] * n)]


def test_refuses_a_two_stage_detector():
    from mmdet_clipjoint.models.detectors import HybridFasterRCNN  # noqa
    with pytest.raises(ValueError, match='one-stage ClipJoint detector'):
        kept_fractions(torch.nn.Module(), ['x.jpg'])
