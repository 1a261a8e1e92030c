# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""The comparison picture draws each model at its own threshold: a model
whose scores live on a lower scale (a ClipJoint head next to a stock one)
still shows its detections."""
import json
import os.path as osp

import numpy as np
import pytest

from mmdet_clipjoint.visualization import comparison as C


def test_best_f1_threshold():
    gts = [(np.array([[0, 0, 10, 10], [20, 20, 30, 30]]), np.array([0, 1]))]
    preds = [(np.array([[0, 0, 10, 10], [20, 20, 30, 30], [50, 50, 60, 60],
                        [0, 0, 10, 10]]),
              np.array([0.12, 0.10, 0.08, 0.02]), np.array([0, 1, 0, 1]))]
    # 2 right boxes at >= 0.10: F1 = 2 * 2 / (2 + 2) = 1
    assert C.best_f1_threshold(preds, gts) == (pytest.approx(0.10), 1.0)
    # nothing right (wrong class): no threshold
    wrong = [(preds[0][0], preds[0][1], np.array([2, 2, 2, 2]))]
    assert C.best_f1_threshold(wrong, gts) == (None, 0.0)


def test_select_boxes():
    assert C.select_boxes([0.5, 0.1, 0.4], 0.3) == ([0, 2], False)
    assert C.select_boxes([0.06, 0.2], 0.3) == ([1], True)  # best shown
    assert C.select_boxes([0.01, 0.04], 0.3) == ([], False)  # all < 0.05
    assert C.select_boxes([], 0.3) == ([], False)


def test_no_panel_is_empty_when_the_model_detects_something(
        synthetic_coco, tmp_path, monkeypatch):
    """stock scores ~0.8, ClipJoint ~0.12 on the same right boxes (its
    scores live on another scale), and on one image ClipJoint's only box
    scores 0.07: every ClipJoint panel shows boxes."""
    with open(osp.join(synthetic_coco['data_root'],
                       synthetic_coco['val_ann_file'])) as f:
        ann = json.load(f)
    cat_index = {c['id']: i for i, c in enumerate(ann['categories'])}
    images = sorted(ann['images'], key=lambda x: x['file_name'])
    gts = []
    for img in images:
        objs = [a for a in ann['annotations'] if a['image_id'] == img['id']]
        gts.append((np.array([[x, y, x + w, y + h]
                              for x, y, w, h in (a['bbox'] for a in objs)]),
                    np.array([cat_index[a['category_id']] for a in objs])))
    score = dict(stock=0.8, clipjoint=0.12)

    def fake_predict(model, paths):
        out = []
        for i, _ in enumerate(paths):
            boxes, labels = gts[i]
            scores = np.full(len(labels), score[model])
            if model == 'clipjoint' and i == 1:
                boxes, labels, scores = boxes[:1], (labels[:1] + 1) % 12, \
                    np.array([0.07])
            out.append((boxes.astype(np.float32), scores, labels))
        return out

    monkeypatch.setattr(C, '_predict', fake_predict)
    metrics = {('both', m): {'coco/bbox_mAP': 0.5} for m in score}
    result = C.draw_comparison(dict(stock='stock', clipjoint='clipjoint'),
                               metrics, 'both', synthetic_coco, 3, None,
                               str(tmp_path / 'pic.png'))
    assert osp.isfile(result['path'])
    assert result['thresholds'] == dict(
        stock=(pytest.approx(0.8), 'best F1'),
        clipjoint=(pytest.approx(0.12), 'best F1'))
    clip = [p for p in result['panels'] if p['method'] == 'clipjoint']
    assert len(clip) == 3
    for p in clip:
        assert p['best'] > 0.05 and p['drawn'] >= 1, p
    assert clip[1]['fallback'] and not clip[0]['fallback']
    # one fixed threshold (--score-thr) applies to both models
    fixed = C.draw_comparison(dict(stock='stock', clipjoint='clipjoint'),
                              metrics, 'both', synthetic_coco, 2, 0.3,
                              str(tmp_path / 'pic2.png'))
    assert fixed['thresholds'] == dict(stock=(0.3, 'given'),
                                       clipjoint=(0.3, 'given'))
