# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
r"""Checkpoints of the flat branch layout (``text_bank.*`` / ``proj.*``
directly under the head, before the branch was one
:class:`ContrastiveBranch`) load into ``branch.*`` and predict as before.

``tests/data/legacy_branch_heads.pt`` was written by the code of commit
b79ddb7 (the flat layout), on tiny heads of both families: their state
dicts, inputs and outputs. Regenerate (only with that code on the path)::

    mkdir -p /tmp/old
    git archive b79ddb7 mmdet_clipjoint | tar -x -C /tmp/old
    PYTHONPATH=/tmp/old python -m \
        tests.test_models.test_legacy_branch_checkpoint --write
"""
import os.path as osp
import sys

import pytest
import torch
from mmengine.config import ConfigDict

import mmdet_clipjoint  # noqa: F401
from mmdet.registry import MODELS
from mmdet.utils import register_all_modules

register_all_modules()

DATA = osp.join(
    osp.dirname(osp.dirname(osp.abspath(__file__))), 'data',
    'legacy_branch_heads.pt')
BANK = dict(type='ContrastiveTextBank', class_names=['a', 'b', 'c'],
            embed_dim=8, init_source='random', background='learned',
            cache_dir=None)
#: the branch's keys, flat (the old layout) -- moved under ``branch``
BRANCH = dict(proj_hidden=8, max_grad_share=0.5)
DENSE = dict(
    type='ClipJointRTMDetHead', num_classes=3, in_channels=16,
    feat_channels=16, stacked_convs=1, score_mode='clip',
    anchor_generator=dict(type='MlvlPointGenerator', offset=0,
                          strides=[8, 16, 32]),
    bbox_coder=dict(type='DistancePointBBoxCoder'),
    test_cfg=dict(nms_pre=100, min_bbox_size=0, score_thr=0.0,
                  nms=dict(type='nms', iou_threshold=0.6), max_per_img=20))
ROI = dict(type='ClipJointBBoxHead', num_classes=3, in_channels=8,
           roi_feat_size=2, fc_out_channels=16, score_mode='clip')


def _cfg(base: dict, flat: bool) -> dict:
    """The head config in the old (``flat``) or the current layout."""
    cfg = dict(base, text_bank=BANK)
    if flat:
        cfg.update(BRANCH)
    else:
        cfg['branch'] = dict(BRANCH)
    return cfg


def _inputs():
    torch.manual_seed(1)
    dense = [torch.rand(1, 16, 64 // s, 64 // s) for s in (8, 16, 32)]
    rois = torch.rand(5, 8, 2, 2)
    return dense, rois


def _outputs(dense_head, roi_head) -> dict:
    """Predictions and branch outputs, on one thread (GEMM results may
    depend on the thread count)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _outputs_one_thread(dense_head, roi_head)
    finally:
        torch.set_num_threads(threads)


def _outputs_one_thread(dense_head, roi_head) -> dict:
    dense, rois = _inputs()
    dense_head.eval()
    roi_head.eval()
    with torch.no_grad():
        outs = dense_head(dense)
        meta = dict(img_shape=(64, 64), scale_factor=(1.0, 1.0))
        res = dense_head.predict_by_feat(
            *outs, batch_img_metas=[meta], cfg=ConfigDict(DENSE['test_cfg']),
            rescale=False)[0]
        cls_score, bbox_pred, region_embed = roi_head(rois)
    return dict(dense_scores=res.scores, dense_labels=res.labels,
                dense_bboxes=res.bboxes, roi_cls=cls_score,
                roi_embed=region_embed,
                roi_clip=roi_head.fuse_scores(cls_score, region_embed))


def _write() -> None:
    torch.manual_seed(0)
    dense_head = MODELS.build(_cfg(DENSE, flat=True))
    dense_head.init_weights()
    roi_head = MODELS.build(_cfg(ROI, flat=True))
    roi_head.init_weights()
    torch.save(
        dict(dense=dense_head.state_dict(), roi=roi_head.state_dict(),
             outputs=_outputs(dense_head, roi_head)), DATA)
    print(f'wrote {DATA}')


@pytest.fixture(scope='module')
def legacy():
    return torch.load(DATA)


def test_file_has_the_flat_layout(legacy):
    for part in ('dense', 'roi'):
        keys = list(legacy[part])
        assert any(k.startswith('text_bank.') for k in keys), part
        assert any(k.startswith('proj.') for k in keys), part
        assert not any(k.startswith('branch.') for k in keys), part


def test_legacy_checkpoint_loads_and_predicts_the_same(legacy):
    torch.manual_seed(7)  # other weights than the stored ones
    dense_head = MODELS.build(_cfg(DENSE, flat=False))
    roi_head = MODELS.build(_cfg(ROI, flat=False))
    # strict: every old key maps to a new one, nothing left over
    dense_head.load_state_dict(legacy['dense'], strict=True)
    roi_head.load_state_dict(legacy['roi'], strict=True)
    assert torch.equal(dense_head.text_bank.embeddings,
                       legacy['dense']['text_bank.embeddings'])
    assert torch.equal(roi_head.proj[0].weight,
                       legacy['roi']['proj.0.weight'])
    got = _outputs(dense_head, roi_head)
    for k, v in legacy['outputs'].items():
        assert torch.equal(got[k], v), k


def test_current_checkpoint_round_trip(legacy):
    """A checkpoint of the current layout loads as it is (strict)."""
    torch.manual_seed(7)
    head = MODELS.build(_cfg(DENSE, flat=False))
    head.load_state_dict(legacy['dense'])
    state = head.state_dict()
    assert any(k.startswith('branch.text_bank.') for k in state)
    assert not any(k.startswith(('text_bank.', 'proj.')) for k in state)
    torch.manual_seed(8)
    other = MODELS.build(_cfg(DENSE, flat=False))
    other.load_state_dict(state, strict=True)
    for k, v in other.state_dict().items():
        assert torch.equal(v, state[k]), k


if __name__ == '__main__':
    if '--write' not in sys.argv:
        sys.exit('usage: python -m tests.test_models.'
                 'test_legacy_branch_checkpoint --write')
    _write()
