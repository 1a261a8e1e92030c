# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Every config under configs/ loads, builds and runs one forward pass."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config

import mmdet_clipjoint  # noqa: F401
from mmdet.registry import MODELS
from mmdet.testing import demo_mm_inputs
from mmdet.utils import register_all_modules
from mmdet_clipjoint.models import ContrastiveTextBank
from mmdet_clipjoint.utils import shrink_config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = sorted(
    p for p in glob.glob(osp.join(ROOT, 'configs', '**', '*.py'),
                         recursive=True) if '_base_' not in p)

register_all_modules()


def test_configs_exist():
    assert len(CONFIGS) >= 10


@pytest.mark.parametrize('path', CONFIGS,
                         ids=[osp.relpath(p, ROOT) for p in CONFIGS])
def test_config_builds_and_forwards(path, synthetic_coco, tmp_path):
    cfg = Config.fromfile(path)
    assert cfg.custom_imports['imports'] == ['mmdet_clipjoint']
    # configs/yolo11/: the stock detector this package adds (no branch)
    clipjoint = osp.basename(path).startswith('clipjoint')
    assert clipjoint == any(h['type'] == 'TextBankInitHook'
                            for h in cfg.custom_hooks)
    # the model, shrunk for CPU (ResNet-50 -> 18; same heads)
    small = shrink_config(cfg, synthetic_coco, str(tmp_path), img_size=128)
    classes = len(synthetic_coco['classes'])
    model = MODELS.build(small.model)
    banks = [m for m in model.modules() if isinstance(m, ContrastiveTextBank)]
    assert len(banks) == int(clipjoint)
    model.train()
    packed = demo_mm_inputs(2, image_shapes=[(3, 128, 128)] * 2,
                            num_items=[2, 1], num_classes=classes)
    data = model.data_preprocessor(packed, True)
    losses = model(**data, mode='loss')
    assert any('contrast' in k for k in losses) == clipjoint
    for k, v in losses.items():
        if 'loss' in k:
            v = sum(v) if isinstance(v, (list, tuple)) else v
            assert torch.isfinite(v).all(), (k, v)
