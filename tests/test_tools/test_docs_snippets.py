# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""The "Adding ClipJoint to your own config" snippets of docs/usage.md
load and build the intended model."""
import json
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


def test_usage_has_the_snippets():
    assert set(config_snippets()) == {
        'my_clipjoint_frcnn.py', 'my_clipjoint_rtmdet.py',
        'my_dataset_clipjoint_frcnn.py', 'readme.py'}


@pytest.mark.parametrize('name,head_path,head_type,base_hooks', [
    ('my_clipjoint_frcnn.py', 'roi_head.bbox_head', 'ClipJointBBoxHead',
     []),
    ('readme.py', 'roi_head.bbox_head', 'ClipJointBBoxHead', []),
    ('my_clipjoint_rtmdet.py', 'bbox_head', 'ClipJointRTMDetHead',
     ['EMAHook', 'PipelineSwitchHook']),
])
def test_config_snippet_builds(name, head_path, head_type, base_hooks,
                               tmp_path):
    path = tmp_path / name
    path.write_text(config_snippets()[name])
    cfg = Config.fromfile(str(path))
    hooks = [h['type'] for h in cfg.custom_hooks]
    assert hooks == base_hooks + ['TextBankInitHook']
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


def test_custom_dataset_template_trains(tmp_path, monkeypatch):
    """The custom-dataset template of docs/usage.md, unchanged, trains and
    evaluates on a COCO-format dataset laid out as it says (generated here,
    with the template's classes); only the schedule is cut to one short
    epoch."""
    from mmengine.runner import Runner

    from mmdet_clipjoint.datasets import make_synthetic_dataset
    text = config_snippets()['my_dataset_clipjoint_frcnn.py']
    (tmp_path / 'my_dataset_clipjoint_frcnn.py').write_text(text)
    classes = ('red circle', 'blue square', 'green triangle')
    make_synthetic_dataset(str(tmp_path / 'data' / 'my_dataset'),
                           num_train=4, num_val=2, img_size=(96, 96),
                           classes=classes, seed=0)
    monkeypatch.chdir(tmp_path)  # the template's relative data_root
    cfg = Config.fromfile('my_dataset_clipjoint_frcnn.py')
    assert cfg.model.roi_head.bbox_head.num_classes == 3
    cfg.train_cfg.max_epochs = 1
    cfg.work_dir = str(tmp_path / 'work')
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.iter == 2  # 4 images, batch 2
    metrics = runner.test()
    assert 'coco/bbox_mAP' in metrics
    bank = runner.model.roi_head.bbox_head.text_bank
    assert bank.class_names == classes


def test_readme_inference_snippet_runs(trained_clipjoint, tmp_path,
                                       monkeypatch, capsys):
    with open(README) as f:
        section = f.read().split('## Python inference', 1)[1]
    code = re.search(r'```python\n(.*?)```', section, re.S).group(1)
    img = osp.join(trained_clipjoint['data']['data_root'], 'val',
                   '000000.jpg')
    monkeypatch.chdir(tmp_path)
    scope = dict(config=trained_clipjoint['config'],
                 checkpoint=trained_clipjoint['checkpoint'], img=img)
    exec(compile(code, 'README.md', 'exec'), scope)
    assert len(scope['names']) == len(scope['labels'])
    assert scope['boxes'].shape[1] == 4
    assert scope['out']['predictions'][0]['scores']
    saved = tmp_path / 'outputs' / 'api' / 'preds' / '000000.json'
    assert saved.is_file()
    # the plain DetInferencer path carries the class names too (returned
    # and saved), and draws with the threshold that suits the model
    classes = trained_clipjoint['data']['classes']
    pred = json.loads(saved.read_text())
    assert pred['label_names'] == [classes[i] for i in pred['labels']]
    assert scope['pred']['label_names'] == pred['label_names']
    from mmdet_clipjoint.apis import default_score_thr
    assert scope['thr'] == default_score_thr(scope['inferencer'])
    # an image without a box to draw is said so, with its best score
    if max(pred['scores']) < scope['thr']:
        assert '0 boxes >= thr' in capsys.readouterr().out
    scope['inferencer'].model.roi_head.bbox_head.score_mode = 'clip'
    assert default_score_thr(scope['inferencer']) == 0.1
