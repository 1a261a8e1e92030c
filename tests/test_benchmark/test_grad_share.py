# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""The branch's gradient share into the shared trunk at initialisation is
bounded as configured (Faster R-CNN and RTMDet main configs)."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

import mmdet_clipjoint  # noqa: F401
from mmdet.registry import MODELS
from mmdet.testing import demo_mm_inputs
from mmdet.utils import register_all_modules
from mmdet_clipjoint.benchmark import branch_grad_share
from mmdet_clipjoint.utils import shrink_config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = dict(
    frcnn='configs/clipjoint_faster-rcnn/'
    'clipjoint-faster-rcnn_r50_fpn_1x_coco.py',
    rtmdet='configs/clipjoint_rtmdet/clipjoint-rtmdet_tiny_8xb32-300e_coco.py')

register_all_modules()


def _model(det, synthetic_coco, tmp_path, **head):
    cfg = shrink_config(Config.fromfile(osp.join(ROOT, CONFIGS[det])),
                        synthetic_coco, str(tmp_path), img_size=128)
    h = cfg.model.roi_head.bbox_head if det == 'frcnn' else \
        cfg.model.bbox_head
    h.text_bank.update(init_source='random', cache_dir=None)
    h.branch.update(head)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model


def _batch(num_classes):
    packed = demo_mm_inputs(batch_size=2, image_shapes=[(3, 128, 128)] * 2,
                            num_items=[3, 2], num_classes=num_classes)
    return pseudo_collate([
        dict(inputs=i, data_samples=s)
        for i, s in zip(packed['inputs'], packed['data_samples'])
    ])


@pytest.mark.parametrize('det', list(CONFIGS))
def test_grad_share_bounded_at_init(det, synthetic_coco, tmp_path):
    C = len(synthetic_coco['classes'])
    free = branch_grad_share(
        _model(det, synthetic_coco, tmp_path, max_grad_share=None),
        _batch(C))
    bounded = {
        s: branch_grad_share(
            _model(det, synthetic_coco, tmp_path, max_grad_share=s),
            _batch(C))['share']
        for s in (0.0, 0.25)
    }
    assert free['det_norm'] > 0 and free['branch_norm'] > 0
    # 0 keeps the branch out of the trunk entirely
    assert bounded[0.0] < 1e-6
    # the bound acts where the branch forks off; measured in the backbone
    # and neck it stays of the configured order, far below the free share
    # when that is large
    assert bounded[0.25] <= 0.5, (bounded, free)
    assert bounded[0.25] < free['share'] or free['share'] <= 0.5


def test_grad_share_tool_prints_a_table(capsys):
    import runpy
    tool = runpy.run_path(osp.join(ROOT, 'tools', 'analysis_tools',
                                   'grad_share.py'), run_name='tool')
    tool['main'](['--detectors', 'rtmdet', '--bounds', 'none', '0'])
    rows = [r for r in capsys.readouterr().out.splitlines()
            if r.startswith('| RTMDet-tiny |')]
    assert len(rows) == 1
    free, zero = (float(c.strip().rstrip('x'))
                  for c in rows[0].split('|')[2:4])
    assert free > 1.0 and zero == 0.0
