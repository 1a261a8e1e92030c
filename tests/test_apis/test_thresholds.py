# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Drawing thresholds that suit a score mode and vocabulary size, and the
report of images with no box to draw (issue 28, items 3 and 4)."""
import pytest
import torch

from mmdet_clipjoint.apis import (default_score_thr, report_unshown,
                                  set_vocabulary)

RTMDET = 'configs/clipjoint_rtmdet/clipjoint-rtmdet_tiny_8xb32-300e_coco.py'


def test_default_score_thr():
    assert default_score_thr('det') == 0.3
    assert default_score_thr('fuse') == 0.2
    assert default_score_thr('clip') == 0.1
    assert default_score_thr('clip', 20) == 0.1  # VOC: unchanged
    assert default_score_thr('clip', 80) == 0.1
    assert default_score_thr('clip', 365) == 0.047  # Objects365
    assert default_score_thr('clip', 1203) == 0.026  # LVIS
    assert default_score_thr('fuse', 1203) == 0.052
    assert default_score_thr('det', 1203) == 0.3  # the detector's own
    with pytest.raises(ValueError, match="score mode 'CLIP'"):
        default_score_thr('CLIP')


def test_threshold_follows_set_vocabulary(synthetic_coco, tmp_path,
                                          monkeypatch):
    """After set_vocabulary(model, 'lvis') the model's threshold is LVIS's
    and set_vocabulary's log says it."""
    from mmengine.config import Config

    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    from mmdet_clipjoint.utils.small_config import shrink_config
    register_all_modules()
    cfg = shrink_config(Config.fromfile(RTMDET), synthetic_coco,
                        str(tmp_path), img_size=64)
    cfg.model.bbox_head.text_bank.update(init_source='random',
                                         cache_dir=None)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).eval()
    model.dataset_meta = dict(classes=tuple(synthetic_coco['classes']))
    assert default_score_thr(model) == 0.3  # the config's det mode
    model.bbox_head.score_mode = 'clip'
    assert default_score_thr(model) == 0.1  # 12 classes
    from mmdet_clipjoint.apis import vocabulary
    logged = []
    monkeypatch.setattr(vocabulary, 'print_log',
                        lambda msg, **kw: logged.append(msg))
    set_vocabulary(model, 'lvis')
    assert default_score_thr(model) == 0.026
    assert 'draw with pred_score_thr=0.026' in logged[-1]


def test_report_unshown(capsys):
    result = dict(predictions=[dict(scores=[0.05, 0.02]),
                               dict(scores=[0.5]), dict(scores=[])])
    lines = report_unshown(result, 0.1, 'lower it')
    assert lines == [
        'image 0: 0 boxes >= thr 0.1 (best score 0.050); lower it',
        'image 2: 0 boxes >= thr 0.1 (best score none); lower it']
    assert capsys.readouterr().out.splitlines() == lines
