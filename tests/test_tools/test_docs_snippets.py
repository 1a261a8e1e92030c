# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""The "Adding ClipJoint to your own config" snippets of docs/usage.md
load and build the intended model."""
import os.path as osp
import re

import pytest
from mmengine.config import Config

import mmdet_clipjoint  # noqa: F401
from mmdet.registry import MODELS
from mmdet.utils import register_all_modules
from .conftest import ROOT

USAGE = osp.join(ROOT, 'docs', 'usage.md')
README = osp.join(ROOT, 'README.md')


def config_snippets():
    """``{file name: text}`` of the config snippets of docs/usage.md and of
    README.md's "Adding ClipJoint to your own config" section."""
    with open(USAGE) as f:
        text = f.read()
    blocks = re.findall(r'```python\n(# (my_\w+\.py)\n.*?)```', text, re.S)
    snippets = {name: body for body, name in blocks}
    with open(README) as f:
        readme = f.read()
    section = readme.split('## Adding ClipJoint to your own config', 1)[1]
    snippets['readme.py'] = re.search(r'```python\n(.*?)```', section,
                                      re.S).group(1)
    return snippets


def test_usage_has_both_snippets():
    assert set(config_snippets()) == {'my_clipjoint_frcnn.py',
                                      'my_clipjoint_rtmdet.py', 'readme.py'}


@pytest.mark.parametrize('name,head_path,head_type,base_hooks', [
    ('my_clipjoint_frcnn.py', 'roi_head.bbox_head', 'ClipJointBBoxHead',
     []),
    ('readme.py', 'roi_head.bbox_head', 'ClipJointBBoxHead', []),
    ('my_clipjoint_rtmdet.py', 'bbox_head', 'ClipJointYOLOHead',
     ['EMAHook', 'PipelineSwitchHook']),
])
def test_config_snippet_builds(name, head_path, head_type, base_hooks,
                               tmp_path):
    path = tmp_path / name
    path.write_text(config_snippets()[name])
    cfg = Config.fromfile(str(path))
    hooks = [h['type'] for h in cfg.custom_hooks]
    assert hooks == base_hooks + ['ClipJointHook']
    # the text bank is trained without weight decay
    keys = cfg.optim_wrapper.paramwise_cfg.custom_keys
    for k in ('text_bank.embeddings', 'text_bank.bg_embedding',
              'text_bank.log_scale'):
        assert keys[k]['decay_mult'] == 0.0, k
    cfg.model.backbone.init_cfg = None
    head_cfg = cfg.model
    for key in head_path.split('.'):
        head_cfg = head_cfg[key]
    head_cfg.text_bank.init_source = 'random'  # no CLIP weights in CI
    register_all_modules()
    model = MODELS.build(cfg.model)
    head = model
    for key in head_path.split('.'):
        head = getattr(head, key)
    assert type(head).__name__ == head_type
    assert head.text_bank.num_classes == head.num_classes == 80
    if head_path == 'roi_head.bbox_head':
        assert type(model.roi_head).__name__ == 'ClipJointRoIHead'
        assert model.backbone.depth == 101  # the base is kept
