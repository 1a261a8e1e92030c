# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""set_vocabulary: new class names at inference for every ClipJoint family."""
import copy
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

import mmdet_clipjoint  # noqa: F401
from mmdet.registry import MODELS
from mmdet.testing import demo_mm_inputs
from mmdet.utils import register_all_modules
from mmdet_clipjoint.apis import read_class_names, set_vocabulary
from mmdet_clipjoint.models.utils.vocabularies import (load_vocabulary,
                                                       vocabulary_embeddings)
from mmdet_clipjoint.utils.small_config import shrink_config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = dict(
    frcnn='configs/clipjoint_faster-rcnn/'
    'clipjoint-faster-rcnn_r50_fpn_1x_coco.py',
    rtmdet='configs/clipjoint_rtmdet/clipjoint-rtmdet_tiny_8xb32-300e_coco.py',
    yolox='configs/clipjoint_yolox/clipjoint-yolox_s_8xb8-300e_coco.py',
    yolo11='configs/clipjoint_yolo11/clipjoint-yolo11_n_8xb16-600e_coco.py')

register_all_modules()


def _head(model, det):
    return model.roi_head.bbox_head if det == 'frcnn' else model.bbox_head


def _cfg(det, data, tmp_path, agnostic=False):
    cfg = shrink_config(Config.fromfile(osp.join(ROOT, CONFIGS[det])), data,
                        str(tmp_path), img_size=128)
    h = cfg.model.roi_head.bbox_head if det == 'frcnn' else \
        cfg.model.bbox_head
    h.text_bank.update(init_source='random', cache_dir=None)
    h.score_mode = 'clip'
    if det == 'frcnn':
        h.reg_class_agnostic = agnostic
        cfg.model.test_cfg.rcnn.score_thr = 0.0
    else:
        cfg.model.test_cfg.score_thr = 0.0
    return cfg


def _model(det, data, tmp_path, agnostic=False):
    torch.manual_seed(0)
    model = MODELS.build(_cfg(det, data, tmp_path, agnostic).model)
    model.init_weights()
    model.dataset_meta = dict(classes=tuple(data['classes']))
    return model.eval()


def _batch(num_classes, seed=0):
    torch.manual_seed(seed)
    packed = demo_mm_inputs(batch_size=1, image_shapes=[(3, 128, 128)],
                            num_items=[2], num_classes=num_classes)
    return pseudo_collate([
        dict(inputs=i, data_samples=s)
        for i, s in zip(packed['inputs'], packed['data_samples'])
    ])


def _predict(model, batch):
    with torch.no_grad():
        data = model.data_preprocessor(copy.deepcopy(batch), False)
        return model.predict(data["inputs"], data["data_samples"])[0].pred_instances


def _rows(pred, mirror=None):
    labels = pred.labels if mirror is None else mirror - 1 - pred.labels
    return sorted((round(float(s), 5), int(lb), *(round(float(v), 2)
                                                   for v in b))
                  for s, lb, b in zip(pred.scores, labels, pred.bboxes))


@pytest.mark.parametrize('det', list(CONFIGS))
def test_permuted_vocabulary_permutes_labels(det, synthetic_coco, tmp_path):
    """The trained names in reverse order, with their own embeddings: the
    same detections, each label mirrored -- set_vocabulary changes the
    label space and nothing else."""
    C = len(synthetic_coco['classes'])
    model = _model(det, synthetic_coco, tmp_path, agnostic=True)
    with torch.no_grad():  # no prior-probability bias: scores spread out
        for name, p in _head(model, det).named_parameters():
            if name.endswith('bias') and p.shape == (C, ):
                p.zero_()
    before = _predict(model, _batch(C))
    assert len(before) > 0
    bank = _head(model, det).text_bank
    names = tuple(reversed(bank.class_names))
    emb = bank.text_embeddings()[:C].detach().flip(0)
    assert set_vocabulary(model, names, emb, verbose=False) == names
    after = _predict(model, _batch(C))
    assert len(after) == len(before)
    # as sets (random weights tie many scores, so the order is arbitrary)
    assert _rows(after) == _rows(before, mirror=C)
    assert model.dataset_meta['classes'] == names
    assert _head(model, det).num_classes == C  # restored after predict


@pytest.mark.parametrize('det', list(CONFIGS))
def test_lvis_label_space(det, synthetic_coco, tmp_path):
    """A shipped vocabulary by name: 1203 LVIS classes, labels in range,
    dataset_meta updated, the bank equal to the normalised file."""
    model = _model(det, synthetic_coco, tmp_path)
    names = set_vocabulary(model, 'lvis', verbose=False)
    lvis_names, lvis_emb = load_vocabulary('lvis')
    assert names == lvis_names and len(names) == 1203
    head = _head(model, det)
    assert head.score_mode == 'clip'
    torch.testing.assert_close(head.text_bank.text_embeddings()[:1203],
                               lvis_emb)
    pred = _predict(model, _batch(len(synthetic_coco['classes'])))
    assert len(pred) > 0
    assert int(pred.labels.max()) < 1203
    # the class scores spread over 1203 names: some label beyond the 12
    # trained ones must show up among the detections
    assert int(pred.labels.max()) >= len(synthetic_coco['classes'])
    assert model.dataset_meta['classes'] == lvis_names
    assert model.dataset_meta['palette'] == 'random'


def test_names_file_and_shipped_lookup(synthetic_coco, tmp_path):
    """A names file whose names a shipped vocabulary has: rows found by
    name (LVIS here, COCO lacks 'zebra crossing' style names)."""
    f = tmp_path / 'names.txt'
    f.write_text('# my classes\ndog\n\ncat  # pets\nbanana\n')
    assert read_class_names(str(f)) == ('dog', 'cat', 'banana')
    model = _model('rtmdet', synthetic_coco, tmp_path)
    set_vocabulary(model, str(f), verbose=False)
    torch.testing.assert_close(
        model.bbox_head.text_bank.text_embeddings()[:3],
        vocabulary_embeddings('coco', ['dog', 'cat', 'banana']))
    pred = _predict(model, _batch(12))
    assert int(pred.labels.max()) < 3


def test_temperatures_kept_for_known_names(synthetic_coco, tmp_path):
    model = _model('rtmdet', synthetic_coco, tmp_path)
    bank = model.bbox_head.text_bank
    with torch.no_grad():
        bank.log_scale.copy_(torch.linspace(2.0, 3.0, len(bank.log_scale)))
    old = bank.log_scale.detach().clone()
    C = bank.num_classes
    names = (bank.class_names[3], 'brand new thing')
    set_vocabulary(model, names, torch.randn(2, bank.embed_dim),
                   verbose=False)
    assert bank.log_scale[0] == old[3]
    torch.testing.assert_close(bank.log_scale[1], old[:C].mean())
    assert bank.log_scale[2] == old[C]  # background entry kept
    assert not bank.embeddings.requires_grad
    assert bank.swapped_from == tuple(synthetic_coco['classes'])


@pytest.mark.parametrize('det', ['frcnn', 'rtmdet'])
def test_swapped_model_refuses_det_fuse_and_training(det, synthetic_coco,
                                                     tmp_path):
    model = _model(det, synthetic_coco, tmp_path)
    set_vocabulary(model, ['dog', 'cat'], verbose=False)
    head = _head(model, det)
    for mode in ('det', 'fuse'):
        head.score_mode = mode
        with pytest.raises(ValueError, match="use score_mode='clip'"):
            _predict(model, _batch(12))
    head.score_mode = 'clip'
    model.train()
    data = model.data_preprocessor(_batch(2), True)
    with pytest.raises(RuntimeError, match='inference only'):
        model.loss(data["inputs"], data["data_samples"])


def test_class_specific_frcnn_boxes_follow_best_training_class(
        synthetic_coco, tmp_path):
    model = _model('frcnn', synthetic_coco, tmp_path)
    bbox_head = model.roi_head.bbox_head
    C = bbox_head.num_classes
    set_vocabulary(model, ['dog', 'cat', 'kite'], verbose=False)
    torch.manual_seed(1)
    score = torch.randn(5, C + 1)
    deltas = torch.randn(5, 4 * C)
    out = bbox_head.vocabulary_bbox_pred(score, deltas)
    best = score[:, :C].argmax(-1)
    for i in range(5):
        assert torch.equal(out[i], deltas[i, 4 * best[i]:4 * best[i] + 4])
    pred = _predict(model, _batch(C))
    assert len(pred) > 0 and int(pred.labels.max()) < 3


def test_bad_inputs(synthetic_coco, tmp_path):
    model = _model('rtmdet', synthetic_coco, tmp_path)
    with pytest.raises(ValueError, match='neither a shipped vocabulary'):
        set_vocabulary(model, 'no_such_vocabulary')
    with pytest.raises(ValueError, match=r'shape \(2, 512\)'):
        set_vocabulary(model, ['a', 'b'], torch.randn(3, 512))
    with pytest.raises(ValueError, match='repeat'):
        set_vocabulary(model, ['a', 'a'], torch.randn(2, 512))
    with pytest.raises(ValueError, match='NaN'):
        set_vocabulary(model, ['a'], torch.full((1, 512), float('nan')))
    # offline and no shipped vocabulary has these names: a clear error
    with pytest.raises(RuntimeError, match='open_clip'):
        set_vocabulary(model, ['flibbertigibbet'],
                       clip_pretrained='/nonexistent/clip.pt')
    cfg = _cfg('rtmdet', synthetic_coco, tmp_path)
    stock = copy.deepcopy(cfg.model)
    stock.bbox_head.type = 'RTMDetSepBNHead'
    for k in ('text_bank', 'branch', 'quality_weight', 'neg_pos_ratio',
              'score_mode', 'fuse_alpha'):
        stock.bbox_head.pop(k, None)
    with pytest.raises(ValueError, match='ClipJoint detector'):
        set_vocabulary(MODELS.build(stock), ['dog'])


def test_unknown_names_without_weights_give_one_clear_error(
        synthetic_coco, tmp_path, monkeypatch):
    """A name in no shipped vocabulary, no embeddings, the default CLIP tag
    and no network: a short error listing that name and the three ways out,
    not the hub client's traceback (no chained cause)."""
    from mmdet_clipjoint.apis.vocabulary import NoTextEmbeddings
    from mmdet_clipjoint.models.utils import clip_text
    monkeypatch.setattr(clip_text, 'weights_host_reachable',
                        lambda *a, **k: False)  # offline, even with network
    model = _model('rtmdet', synthetic_coco, tmp_path)
    with pytest.raises(NoTextEmbeddings) as info:
        set_vocabulary(model, ['dog', 'some name no vocabulary has'])
    msg = str(info.value)
    assert msg.startswith("1 of the 2 class names are in no shipped "
                          "vocabulary (coco, lvis, objects365, voc): "
                          "['some name no vocabulary has']")
    for way in ('(1) embeddings=', "(2) a names file with a dumped "
                "embeddings file: set_vocabulary(model, 'names.txt', "
                "'emb.pt')", 'tools/dump_text_embeddings.py',
                '(3) clip_pretrained=PATH'):
        assert way in msg
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert isinstance(info.value, ValueError)  # tools print it cleanly
    # nothing was changed on the model
    assert _head(model, 'rtmdet').text_bank.class_names == tuple(
        synthetic_coco['classes'])


def test_drift_penalty(synthetic_coco, tmp_path):
    """drift_weight adds loss_text_drift, 0 at the initialisation, growing
    as the bank moves, with a gradient towards the initial embeddings."""
    cfg = _cfg('rtmdet', synthetic_coco, tmp_path)
    cfg.model.bbox_head.text_bank.drift_weight = 2.0
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    bank = model.bbox_head.text_bank
    assert float(bank.drift_loss()) == pytest.approx(0.0, abs=1e-6)
    data = model.data_preprocessor(_batch(12), True)
    losses = model.loss(data["inputs"], data["data_samples"])
    assert 'loss_text_drift' in losses
    with torch.no_grad():
        bank.embeddings.add_(0.3 * torch.randn_like(bank.embeddings))
    cos = F.cosine_similarity(bank.embeddings, bank.init_embeddings, -1)
    drift = bank.drift_loss()
    torch.testing.assert_close(drift, 2.0 * (1 - cos).mean())
    drift.backward()
    assert bank.embeddings.grad.abs().sum() > 0
    with pytest.raises(ValueError, match='drift_weight'):
        cfg.model.bbox_head.text_bank.drift_weight = -1.0
        MODELS.build(cfg.model)
