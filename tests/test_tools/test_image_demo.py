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
    from mmdet_clipjoint.models.layers import set_score_mode
    with pytest.raises(ValueError, match='ClipJoint detector'):
        set_score_mode(nn.Sequential(nn.Linear(2, 2)), 'clip')


def test_predictions_carry_names_and_empty_drawings_are_reported(
        trained_clipjoint, tmp_path, capsys):
    """Label names next to the ids (returned and saved JSON); a threshold
    above every score says so, with the best score; each mode has its own
    default threshold."""
    demo = _load_demo()
    img, pred = _run(demo, trained_clipjoint, str(tmp_path / 'a'), 'det')
    names = list(trained_clipjoint['data']['classes'])
    assert pred['label_names'] == [names[i] for i in pred['labels']]
    capsys.readouterr()
    demo.main([img, trained_clipjoint['config'], '--weights',
               trained_clipjoint['checkpoint'], '--out-dir',
               str(tmp_path / 'b'), '--pred-score-thr', '1.01'])
    out = capsys.readouterr().out
    best = max(pred['scores'])
    assert f'image 0: 0 boxes >= thr 1.01 (best score {best:.3f})' in out
    demo.main([img, trained_clipjoint['config'], '--weights',
               trained_clipjoint['checkpoint'], '--out-dir',
               str(tmp_path / 'c'), '--score-mode', 'clip'])
    out = capsys.readouterr().out
    assert f'score >= {demo.DEFAULT_SCORE_THR["clip"]} (the default of ' \
        "score mode 'clip'" in out
