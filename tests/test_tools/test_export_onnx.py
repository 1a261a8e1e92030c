# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""ONNX export (tools/deployment/export_onnx.py, mmdet_clipjoint.deployment)
of tiny RTMDet (ClipJoint + stock), YOLOX and YOLO11 (ClipJoint) models with
random weights, run by onnxruntime on CPU.

Checked: onnxruntime's boxes and scores of every location equal PyTorch's
within :data:`BOX_ATOL` / :data:`SCORE_ATOL` (det, fuse, clip; dynamic
batch 1 and 3, fixed batch); the PyTorch reference is the model's own
prediction (``model.predict`` gives the same detections as the runner's
post-process of the reference outputs, from the same input, which is what
the config's test pipeline produces); the runner's detections on an image
match ``inference_detector``'s; the stored metadata; clear errors for bad
input; the command lines.
"""
import os.path as osp
import re
import sys

import numpy as np
import onnx
import pytest
import torch
import torch.nn as nn

import mmdet_clipjoint  # noqa: F401
from mmdet.registry import MODELS
from mmdet.utils import register_all_modules
from ..helpers import load_script, small_cfg
from .conftest import ROOT, run_cmd

from mmdet_clipjoint.deployment import (META_KEY, ONNXDetector,
                                        ONNXExportWrapper,
                                        check_export_config,
                                        compare_with_pytorch, export_onnx,
                                        preprocess_image, random_inputs)

#: measured on these models (64 x 64 inputs, batch 3, random weights
#: scaled as trained ones, boxes up to ~300 px): boxes differ by at most
#: 4e-4 px (YOLO11; RTMDet / YOLOX 3e-5), scores by at most 3e-7
BOX_ATOL = 2e-3
SCORE_ATOL = 1e-5
SIZE = 64

CONFIGS = {
    'clipjoint-rtmdet':
    'configs/clipjoint_rtmdet/clipjoint-rtmdet_tiny_8xb32-300e_coco.py',
    'rtmdet': 'mmdet::rtmdet/rtmdet_tiny_8xb32-300e_coco.py',
    'clipjoint-yolox':
    'configs/clipjoint_yolox/clipjoint-yolox_s_8xb8-300e_coco.py',
    'clipjoint-yolo11':
    'configs/clipjoint_yolo11/clipjoint-yolo11_n_8xb16-600e_coco.py',
}
FRCNN = 'configs/clipjoint_faster-rcnn/clipjoint-faster-rcnn_r50_fpn_1x_coco.py'

register_all_modules()


class Zoo:
    """Tiny models (64 px test pipelines, the generated dataset's 12
    classes) and their dynamic-batch exports, built once per module."""

    def __init__(self, data, root):
        self.data, self.root = data, root
        self.cfgs, self.models, self.files = {}, {}, {}

    def cfg(self, name):
        if name not in self.cfgs:
            base = CONFIGS[name]
            self.cfgs[name] = small_cfg(
                self.root / name, base if '::' in base else osp.join(
                    ROOT, base), self.data, img_size=SIZE)
        return self.cfgs[name]

    def model(self, name):
        if name not in self.models:
            cfg = self.cfg(name)
            torch.manual_seed(0)
            model = MODELS.build(cfg.model)
            model.init_weights()
            scale_like_trained(model)
            model.cfg = cfg
            model.dataset_meta = dict(classes=tuple(self.data['classes']))
            self.models[name] = model.eval()
        return self.models[name]

    def export(self, name, mode, dynamic_batch=True):
        key = (name, mode, dynamic_batch)
        if key not in self.files:
            path = str(self.root / f'{name}_{mode}_{int(dynamic_batch)}.onnx')
            meta = export_onnx(self.model(name), path, score_mode=mode,
                               dynamic_batch=dynamic_batch)
            self.files[key] = (path, meta)
        return self.files[key]


def scale_like_trained(model, var_floor=0.3):
    """Give random weights the output scale of trained ones.

    At their stock initialisation the tiny models' scores are near-ties
    (RTMDet's features vanish, its scores are all ~0.01), which would make
    the comparisons weak (a mixed-up location order would pass) and NMS
    order-sensitive. So: BatchNorm statistics of random images (with a
    variance floor: channels nearly constant on those images would amplify
    any other input), then every prediction conv of the head (the convs
    with a bias) rescaled to outputs of std 1 with zero bias (RTMDet's box
    distances: 2 strides).
    """
    bns = [m for m in model.modules()
           if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    momenta = [bn.momentum for bn in bns]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None  # a plain average over the batches
    g = torch.Generator().manual_seed(5)
    imgs = torch.randint(0, 256, (8, 3, SIZE, SIZE), dtype=torch.uint8,
                         generator=g)
    x = model.data_preprocessor(dict(inputs=list(imgs)), False)['inputs']
    model.train()
    with torch.no_grad():
        model.bbox_head(model.extract_feat(x))
    model.eval()
    for bn, momentum in zip(bns, momenta):
        bn.momentum = momentum
        bn.running_var.clamp_(min=var_floor)
    preds = [m for m in model.bbox_head.modules()
             if isinstance(m, nn.Conv2d) and m.bias is not None]
    rms = {}

    def record(m, inputs, output):
        rms.setdefault(m, inputs[0].pow(2).mean().sqrt().item())

    hooks = [m.register_forward_hook(record) for m in preds]
    with torch.no_grad():
        model.bbox_head(model.extract_feat(x))
        for h in hooks:
            h.remove()
        for m in preds:
            if m in rms:  # (the ClipJoint projection runs only in fuse)
                fan_in = m.weight[0].numel()
                m.weight.normal_(0, 1 / (fan_in**0.5 * max(rms[m], 1e-3)))
                m.bias.zero_()
        for conv in getattr(model.bbox_head, 'rtm_reg', []):
            conv.bias.fill_(2.0)


@pytest.fixture(scope='module')
def zoo(synthetic_coco, tmp_path_factory):
    return Zoo(synthetic_coco, tmp_path_factory.mktemp('onnx'))


def reference(model, mode, inputs):
    """The PyTorch wrapper's (boxes, scores) on a numpy batch."""
    with torch.no_grad():
        boxes, scores = ONNXExportWrapper(model, mode)(
            torch.from_numpy(np.asarray(inputs)))
    return boxes.numpy(), scores.numpy()


PARITY = [('clipjoint-rtmdet', 'det'), ('clipjoint-rtmdet', 'fuse'),
          ('clipjoint-rtmdet', 'clip'), ('rtmdet', 'det'),
          ('clipjoint-yolox', 'det'), ('clipjoint-yolox', 'fuse'),
          ('clipjoint-yolo11', 'det'), ('clipjoint-yolo11', 'fuse')]


@pytest.mark.parametrize('name,mode', PARITY)
def test_onnxruntime_matches_pytorch_dynamic_batch(zoo, name, mode):
    path, meta = zoo.export(name, mode)
    model = zoo.model(name)
    det = ONNXDetector(path)
    assert det.batch_size is None  # dynamic
    x = random_inputs(meta, 3, seed=1)
    boxes, scores = det.run(x)
    n = (SIZE // 8)**2 + (SIZE // 16)**2 + (SIZE // 32)**2
    assert boxes.shape == (3, n, 4)
    assert scores.shape == (3, n, len(zoo.data['classes']))
    ref_boxes, ref_scores = reference(model, mode, x)
    np.testing.assert_allclose(boxes, ref_boxes, rtol=0, atol=BOX_ATOL)
    np.testing.assert_allclose(scores, ref_scores, rtol=0, atol=SCORE_ATOL)
    assert ((scores >= 0) & (scores <= 1)).all()
    assert scores.std() > 1e-3 and ref_boxes.std() > 1  # not degenerate
    # batch 1 through the same file gives the first image's outputs
    b1, s1 = det.run(x[:1])
    np.testing.assert_allclose(b1, boxes[:1], rtol=0, atol=BOX_ATOL)
    np.testing.assert_allclose(s1, scores[:1], rtol=0, atol=SCORE_ATOL)
    if mode != 'det':
        # the branch is in the graph: its scores are not the detector's
        _, det_scores = reference(model, 'det', x)
        assert np.abs(scores - det_scores).max() > 1e-2


def test_fuse_graph_is_the_geometric_mean_of_det_and_clip(zoo):
    x = random_inputs(zoo.export('clipjoint-rtmdet', 'det')[1], 2, seed=2)
    out = {
        mode: ONNXDetector(zoo.export('clipjoint-rtmdet', mode)[0]).run(x)[1]
        for mode in ('det', 'clip', 'fuse')
    }
    alpha = zoo.model('clipjoint-rtmdet').bbox_head.fuse_alpha
    expect = out['det']**(1 - alpha) * out['clip']**alpha
    # the scores pass through logit(p, eps=1e-6) as in PyTorch's predict
    np.testing.assert_allclose(out['fuse'], expect, rtol=1e-4, atol=2e-6)


def test_frequency_weighted_fuse_graph(zoo, tmp_path):
    # per-class weights of the contrastive scores (fuse_frequency_power),
    # from the training counts the text bank recorded: constants of the
    # graph, the metadata says they are used
    model = zoo.model('clipjoint-rtmdet')
    head = model.bbox_head
    C = len(zoo.data['classes'])
    old = head.text_bank.class_counts.clone()
    head.text_bank.class_counts.copy_(torch.arange(1., C + 1).pow(2))
    head.fuse_frequency_power = 0.5
    try:
        path = str(tmp_path / 'freq_fuse.onnx')
        meta = export_onnx(model, path, score_mode='fuse')
        alpha = head.fuse_weights(C).numpy()
    finally:
        head.fuse_frequency_power = 0.0
        head.text_bank.class_counts.copy_(old)
    assert meta['fuse_frequency_power'] == 0.5
    assert alpha.min() == pytest.approx(head.fuse_alpha) and alpha.max() > 0.9
    x = random_inputs(meta, 2, seed=2)
    out = {
        mode: ONNXDetector(zoo.export('clipjoint-rtmdet', mode)[0]).run(x)[1]
        for mode in ('det', 'clip')
    }
    fused = ONNXDetector(path).run(x)[1]
    expect = out['det']**(1 - alpha) * out['clip']**alpha
    np.testing.assert_allclose(fused, expect, rtol=1e-4, atol=2e-6)


def _mmdet_batch(model, img):
    """The config's test pipeline + data preprocessor on a BGR array."""
    from mmcv.transforms import Compose
    pipeline = [dict(t) for t in model.cfg.test_pipeline]
    pipeline[0] = dict(type='mmdet.LoadImageFromNDArray')
    data = Compose(pipeline)(dict(img=img, img_id=0))
    return model.data_preprocessor(
        dict(inputs=[data['inputs']], data_samples=[data['data_samples']]),
        False)


def _assert_same_detections(a, b, box_atol, score_atol):
    """Same detections, matched by (label, score, box), order aside."""
    assert len(a) == len(b) > 0
    np.testing.assert_allclose(
        np.sort(a.scores.numpy()), np.sort(b.scores.numpy()), rtol=0,
        atol=score_atol)
    for box, score, label in zip(a.bboxes, a.scores, a.labels):
        same = (b.labels == label) & ((b.scores - score).abs() <= score_atol)
        assert same.any()
        err = (b.bboxes[same] - box).abs().max(1)[0].min()
        assert err <= box_atol, (label, score, err)


@pytest.mark.parametrize('name,mode', [('clipjoint-rtmdet', 'fuse'),
                                       ('rtmdet', 'det'),
                                       ('clipjoint-yolox', 'fuse'),
                                       ('clipjoint-yolo11', 'clip')])
def test_reference_is_the_models_own_prediction(zoo, name, mode,
                                                monkeypatch):
    """Pre-processing = the config's pipeline; post-processing of the
    reference outputs = ``model.predict`` (exactly); the ONNX runner on an
    image = ``inference_detector`` (within the tolerances)."""
    from mmdet.apis import inference_detector
    path, meta = zoo.export(name, mode)
    model = zoo.model(name)
    det = ONNXDetector(path, score_thr=0.0)
    head = model.bbox_head
    monkeypatch.setitem(head.test_cfg, 'score_thr', 0.0)
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (50, 80, 3), dtype=np.uint8)  # resize + pad

    batch = _mmdet_batch(model, img)
    x, info = preprocess_image(img, meta)
    np.testing.assert_allclose(x, batch['inputs'][0].numpy(), atol=1e-5)
    sample = batch['data_samples'][0]
    for k in ('img_shape', 'ori_shape', 'pad_shape', 'scale_factor'):
        assert tuple(info[k]) == tuple(sample.metainfo[k]), k

    if mode != 'det':
        monkeypatch.setattr(head, 'score_mode', mode)
        # embed every location, as the graph does
        monkeypatch.setattr(head, 'sparse_fuse', False)
    with torch.no_grad():
        ref = model.predict(batch['inputs'], batch['data_samples'],
                            rescale=True)[0].pred_instances
    ours = det.postprocess(*reference(model, mode, batch['inputs'].numpy()),
                           [info])[0].pred_instances
    assert len(ref) > 0
    torch.testing.assert_close(ours.bboxes, ref.bboxes)
    torch.testing.assert_close(ours.scores, ref.scores)
    assert torch.equal(ours.labels, ref.labels)

    # end to end, PyTorch with its default (sparse) scoring; no padding
    if mode != 'det':
        monkeypatch.setattr(head, 'sparse_fuse', True)
    square = rng.integers(0, 256, (96, 96, 3), dtype=np.uint8)
    torch_res = inference_detector(model, square).pred_instances
    onnx_res = det(square).pred_instances
    _assert_same_detections(onnx_res, torch_res, 10 * BOX_ATOL, SCORE_ATOL)


def test_fixed_batch_export_and_its_metadata(zoo, tmp_path):
    model = zoo.model('clipjoint-rtmdet')
    path = str(tmp_path / 'fixed.onnx')
    meta = export_onnx(model, path, score_mode='fuse', shape=(SIZE, SIZE))
    proto = onnx.load(path)
    (inp, ) = proto.graph.input  # the text bank is no input: constants
    dims = [d.dim_value for d in inp.type.tensor_type.shape.dim]
    assert inp.name == 'inputs' and dims == [1, 3, SIZE, SIZE]
    assert [o.name for o in proto.graph.output] == ['boxes', 'scores']
    bank = model.bbox_head.text_bank
    emb = torch.cat([bank.embeddings, bank.bg_embedding]).detach().numpy()
    consts = [onnx.numpy_helper.to_array(t) for t in proto.graph.initializer]
    assert any(c.shape == emb.shape and np.allclose(c, emb) for c in consts)

    det = ONNXDetector(path)
    assert det.batch_size == 1
    stored = dict(meta)
    stored.pop('path')
    assert det.meta == stored
    assert det.classes == list(zoo.data['classes'])
    assert det.meta['score_mode'] == 'fuse'
    assert det.meta['test_cfg']['nms']['iou_threshold'] == 0.65
    assert det.meta[
        'img_shape_is_padded'] and det.meta['bgr_to_rgb'] is False
    assert det.nms_cfg['iou_threshold'] == 0.65
    assert ONNXDetector(path, nms_iou=0.5).nms_cfg['iou_threshold'] == 0.5

    # a batch of 2 runs image by image, as the dynamic export does at once
    x = random_inputs(meta, 2, seed=3)
    dyn = ONNXDetector(zoo.export('clipjoint-rtmdet', 'fuse')[0]).run(x)
    for a, b, atol in zip(det.run(x), dyn, (BOX_ATOL, SCORE_ATOL)):
        np.testing.assert_allclose(a, b, rtol=0, atol=atol)
    diff = compare_with_pytorch(path, model)
    assert diff['batch'] == 1
    assert diff['boxes'] <= BOX_ATOL and diff['scores'] <= SCORE_ATOL

    # several images in, one DetDataSample each
    rng = np.random.default_rng(1)
    imgs = [rng.integers(0, 256, (40 + 20 * i, 64, 3), dtype=np.uint8)
            for i in range(2)]
    samples = det(imgs)
    assert [s.ori_shape for s in samples] == [(40, 64), (60, 64)]
    assert all(s.pred_instances.bboxes.shape[1] == 4 for s in samples)


def test_bad_input_gets_clear_errors(zoo, tmp_path):
    from mmengine.config import Config
    out = str(tmp_path / 'x.onnx')
    stock_cfg = zoo.cfg('rtmdet')
    # stock head + fuse: from the config (nothing built) and from a model
    for src in (stock_cfg, zoo.model('rtmdet')):
        with pytest.raises(ValueError) as e:
            export_onnx(src, out, score_mode='fuse')
        msg = str(e.value)
        assert "score_mode='fuse' needs a ClipJoint head" in msg
        assert 'RTMDetSepBNHead' in msg and '--score-mode det' in msg
    assert not osp.exists(out)
    with pytest.raises(ValueError, match='modes are lower case'):
        export_onnx(zoo.model('clipjoint-rtmdet'), out, score_mode='FUSE')
    # two-stage detectors
    with pytest.raises(ValueError, match='not supported for two-stage'):
        check_export_config(Config.fromfile(osp.join(ROOT, FRCNN)), 'det')
    # shapes
    model = zoo.model('clipjoint-yolo11')
    with pytest.raises(ValueError,
                       match=r'multiple of the largest stride \(32\).*'
                       r'--shape 96 64'):
        export_onnx(model, out, shape=(70, 64))
    for bad in ((0, 64), (64, ), (64.0, 64)):
        with pytest.raises(ValueError, match='not a valid input size'):
            export_onnx(model, out, shape=bad)
    cfg = model.cfg
    try:
        model.cfg = None  # no pipeline to read the size from
        with pytest.raises(ValueError, match='cannot infer the input size'):
            export_onnx(model, out)
    finally:
        model.cfg = cfg
    # the runner: wrong input size, a file without our metadata
    det = ONNXDetector(zoo.export('clipjoint-yolo11', 'det')[0])
    with pytest.raises(ValueError, match='do not match the exported input'):
        det.run(np.zeros((1, 3, 32, 32), np.float32))
    plain = str(tmp_path / 'plain.onnx')
    torch.onnx.export(nn.Conv2d(3, 4, 1), (torch.zeros(1, 3, 8, 8), ), plain,
                      dynamo=False)
    with pytest.raises(ValueError, match=f'no {META_KEY!r} metadata'):
        ONNXDetector(plain)


def test_command_lines(zoo, tmp_path):
    """export_onnx.py CONFIG CKPT ... --check, then onnx_inference.py; a
    stock config with --score-mode fuse exits with the error, no
    traceback."""
    from PIL import Image
    model = zoo.model('clipjoint-yolox')
    config = str(tmp_path / 'yolox_tiny.py')
    zoo.cfg('clipjoint-yolox').dump(config)
    ckpt = str(tmp_path / 'yolox_tiny.pth')
    torch.save(dict(state_dict=model.state_dict(),
                    meta=dict(dataset_meta=dict(
                        classes=tuple(zoo.data['classes'])))), ckpt)
    out = str(tmp_path / 'yolox_fuse.onnx')
    rc, log = run_cmd([
        sys.executable, 'tools/deployment/export_onnx.py', config, ckpt,
        '--out', out, '--score-mode', 'fuse', '--shape', '64', '64',
        '--dynamic-batch', '--check'
    ])
    assert rc == 0, log[-3000:]
    assert 'ClipJointYOLOXHead, score_mode fuse' in log
    found = re.search(r'max \|boxes diff\| = (\S+) px, max \|scores diff\| '
                      r'= (\S+)', log)
    assert found, log[-2000:]
    assert float(found.group(1)) <= BOX_ATOL
    assert float(found.group(2)) <= SCORE_ATOL
    # the file holds the checkpoint's weights: the same outputs as zoo's
    x = random_inputs(ONNXDetector(out).meta, 1)
    for a, b, atol in zip(ONNXDetector(out).run(x),
                          reference(model, 'fuse', x), (BOX_ATOL, SCORE_ATOL)):
        np.testing.assert_allclose(a, b, rtol=0, atol=atol)

    img = str(tmp_path / 'img.png')
    Image.fromarray(np.random.default_rng(0).integers(
        0, 256, (48, 72, 3), dtype=np.uint8)).save(img)
    vis = str(tmp_path / 'vis.png')
    rc, log = run_cmd([
        sys.executable, 'tools/deployment/onnx_inference.py', out, img,
        '--out', vis, '--score-thr', '0', '--show-thr', '0'
    ])
    assert rc == 0, log[-3000:]
    assert re.search(r'\d+ detections, \d+ with score >= 0', log), log
    with Image.open(vis) as v:
        assert v.width == 72 * 5  # small images are drawn enlarged
    # without --show-thr: the threshold of the exported score mode (fuse
    # scores run lower than mmdet's 0.3), and the best score is given
    rc, log = run_cmd([
        sys.executable, 'tools/deployment/onnx_inference.py', out, img,
        '--score-thr', '0'
    ])
    assert rc == 0, log[-3000:]
    assert re.search(r'\d+ detections, \d+ with score >= 0\.2 \(score mode '
                     r'fuse, best score \d\.\d{3}', log), log

    stock = str(tmp_path / 'rtmdet_stock.py')
    zoo.cfg('rtmdet').dump(stock)
    rc, log = run_cmd([
        sys.executable, 'tools/deployment/export_onnx.py', stock, ckpt,
        '--out', str(tmp_path / 'no.onnx'), '--score-mode', 'fuse'
    ])
    assert rc != 0
    assert 'export_onnx.py: error: score_mode=\'fuse\' needs a ClipJoint ' \
        'head' in log and 'Traceback' not in log


def test_package_imports_without_onnx_and_docs_commands_parse():
    code = ('import sys, mmdet_clipjoint, mmdet_clipjoint.deployment; '
            "print(sorted({'onnx', 'onnxruntime'} & set(sys.modules)))")
    rc, log = run_cmd([sys.executable, '-c', code])
    assert rc == 0 and log.strip().endswith('[]'), log[-2000:]

    with open(osp.join(ROOT, 'docs', 'deployment.md')) as f:
        doc = f.read()
    tool = load_script('tools/deployment/export_onnx.py')
    commands = re.findall(
        r'python tools/deployment/export_onnx\.py((?:[^\n]*\\\n)*[^\n]*)',
        doc)
    assert commands
    for cmd in commands:
        args = cmd.replace('\\\n', ' ').split()
        ns = tool.parse_args(args)  # the flags the docs use exist
        assert ns.out.endswith('.onnx')
