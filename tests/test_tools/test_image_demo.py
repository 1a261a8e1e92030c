# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""demo/image_demo.py (DetInferencer) on the 2-iteration checkpoint."""
import json
import os.path as osp

import numpy as np
import pytest
import torch.nn as nn
from PIL import Image

from ..helpers import load_script


def _load_demo():
    return load_script('demo/image_demo.py')


def _run(demo, trained, out_dir, mode):
    img = osp.join(trained['data']['data_root'], 'val', '000000.jpg')
    demo.main([img, trained['config'], '--weights', trained['checkpoint'],
               '--out-dir', out_dir, '--score-mode', mode,
               '--pred-score-thr', '0'])
    with open(osp.join(out_dir, 'preds', '000000.json')) as f:
        pred = json.load(f)
    return img, pred


def test_image_demo_saves_drawings_and_predictions(trained_clipjoint,
                                                   tmp_path):
    demo = _load_demo()
    img, det = _run(demo, trained_clipjoint, str(tmp_path / 'det'), 'det')
    vis = str(tmp_path / 'det' / 'vis' / '000000.jpg')
    with Image.open(img) as a, Image.open(vis) as b:
        assert a.size == b.size
        src = np.asarray(a.convert('RGB'), dtype=np.int16)
        drawn = np.asarray(b.convert('RGB'), dtype=np.int16)
    assert np.abs(src - drawn).mean() > 1  # boxes were drawn
    n = len(det['labels'])
    assert n > 0 and len(det['scores']) == len(det['bboxes']) == n
    assert all(len(b) == 4 for b in det['bboxes'])
    num_classes = len(trained_clipjoint['data']['classes'])
    assert all(0 <= c < num_classes for c in det['labels'])

    _, clip = _run(demo, trained_clipjoint, str(tmp_path / 'clip'), 'clip')
    assert clip['scores'][:5] != pytest.approx(det['scores'][:5])


def test_set_score_mode_needs_clipjoint_head():
    demo = _load_demo()
    with pytest.raises(ValueError, match='ClipJoint detector'):
        demo.set_score_mode(nn.Sequential(nn.Linear(2, 2)), 'clip')
