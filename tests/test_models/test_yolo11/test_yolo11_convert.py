# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""The Ultralytics -> mmdet converter gives the same network, exactly.

Ultralytics (a test-time dependency, AGPL-3.0, never imported by the
package) builds its YOLO11 from its own yaml with random weights and random
BatchNorm statistics; after conversion our detector must produce the same
neck features, raw head outputs and decoded boxes on the same input.
"""
import os
import os.path as osp
import subprocess
import sys

os.environ.setdefault('YOLO_OFFLINE', 'true')

import pytest  # noqa: E402
import torch  # noqa: E402

import mmdet_clipjoint  # noqa: F401,E402
from mmdet.registry import MODELS  # noqa: E402
from mmdet.utils import register_all_modules  # noqa: E402
from mmdet_clipjoint.models.utils.yolo11_convert import (  # noqa: E402
    convert_yolo11_state_dict, load_ultralytics_state_dict, yolo11_arch_of)

register_all_modules()
ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))
NECK_OUT = dict(n=(64, 128, 256), s=(128, 256, 512), m=(256, 512, 512))


@pytest.fixture(autouse=True)
def _ultralytics_settings(tmp_path_factory, monkeypatch):
    # ultralytics writes a settings file on import: keep it out of $HOME
    monkeypatch.setenv('YOLO_CONFIG_DIR',
                       str(tmp_path_factory.mktemp('ultralytics')))


def ultralytics_model(arch: str, nc: int):
    from ultralytics.nn.tasks import DetectionModel
    torch.manual_seed(0)
    model = DetectionModel(f'yolo11{arch}.yaml', nc=nc, verbose=False)
    g = torch.Generator().manual_seed(1)
    for m in model.modules():  # BN statistics and affine terms matter too
        if isinstance(m, torch.nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(torch.rand(n, generator=g) - 0.5)
            m.running_var.copy_(0.5 + torch.rand(n, generator=g))
            m.weight.data.copy_(0.5 + torch.rand(n, generator=g))
            m.bias.data.copy_(0.4 * torch.rand(n, generator=g) - 0.2)
    return model.eval()


def our_detector(arch: str, nc: int):
    det = MODELS.build(
        dict(type='SingleStageDetector',
             backbone=dict(type='YOLO11Backbone', arch=arch),
             neck=dict(type='YOLO11PAFPN', arch=arch),
             bbox_head=dict(type='YOLO11Head', num_classes=nc,
                            in_channels=NECK_OUT[arch])))
    return det.eval()


@pytest.mark.parametrize('arch,nc', [('n', 80), ('s', 80), ('m', 5)])
def test_converted_weights_give_the_same_outputs(arch, nc):
    ref = ultralytics_model(arch, nc)
    sd = ref.state_dict()
    assert yolo11_arch_of(sd) == (arch, nc)
    det = our_detector(arch, nc)
    det.load_state_dict(convert_yolo11_state_dict(sd), strict=True)
    x = torch.rand(2, 3, 96, 160)
    with torch.no_grad():
        feats = det.neck(det.backbone(x))
        cls, dist = det.bbox_head(feats)
        # raw training outputs: the BN layers in eval mode on both sides
        ref.train()
        for m in ref.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.eval()
        raw = ref(x)
        ref.eval()
        decoded = ref(x)
        decoded = decoded[0] if isinstance(decoded, (list, tuple)) else decoded
        _, flat_cls, _, boxes = det.bbox_head._flat_outputs(cls, dist)
    if isinstance(raw, dict):  # ultralytics >= 8.4: boxes / scores / feats
        ref_feats, ref_box, ref_cls = raw['feats'], raw['boxes'], raw['scores']
    else:  # per level cat(box, cls)
        ref_feats = None
        ref_box = torch.cat([r[:, :64].flatten(2) for r in raw], 2)
        ref_cls = torch.cat([r[:, 64:].flatten(2) for r in raw], 2)
    if ref_feats is not None:
        for a, b in zip(ref_feats, feats):
            torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-5)
    ours_box = torch.cat([d.flatten(2) for d in dist], 2)
    ours_cls = torch.cat([c.flatten(2) for c in cls], 2)
    torch.testing.assert_close(ours_box, ref_box, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(ours_cls, ref_cls, rtol=1e-5, atol=1e-5)
    # decoded: (B, 4 + nc, N) with xywh boxes in pixels and probabilities
    xywh = torch.cat([(boxes[..., :2] + boxes[..., 2:]) / 2,
                      boxes[..., 2:] - boxes[..., :2]], -1)
    torch.testing.assert_close(xywh, decoded[:, :4].transpose(1, 2),
                               rtol=1e-5, atol=1e-3)
    torch.testing.assert_close(flat_cls.sigmoid(),
                               decoded[:, 4:].transpose(1, 2),
                               rtol=1e-5, atol=1e-5)


def test_converter_tool_on_a_full_ultralytics_checkpoint(tmp_path):
    ref = ultralytics_model('n', 3)
    src = tmp_path / 'yolo11n.pt'
    # what Ultralytics saves: pickled (half-precision) model objects
    torch.save(dict(model=ref.half(), ema=None, epoch=-1), src)
    dst = tmp_path / 'out' / 'yolo11n_mmdet.pth'
    out = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools', 'model_converters',
                                  'yolo11_to_mmdet.py'), str(src), str(dst)],
        capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert 'YOLO11-n, 3 classes' in out.stdout
    ckpt = torch.load(dst, map_location='cpu', weights_only=True)
    assert ckpt['meta']['arch'] == 'yolo11n'
    det = our_detector('n', 3)
    det.load_state_dict(ckpt['state_dict'], strict=True)
    assert all(v.dtype == torch.float32 for v in ckpt['state_dict'].values()
               if v.is_floating_point())
    # a plain state dict loads without unpickling code
    plain = tmp_path / 'sd.pt'
    torch.save(ref.float().state_dict(), plain)
    assert load_ultralytics_state_dict(str(plain)).keys() == \
        ref.state_dict().keys()


def test_converter_refuses_other_layouts(tmp_path):
    with pytest.raises(KeyError, match='layer 24 has no weights'):
        convert_yolo11_state_dict({'model.24.conv.weight': torch.zeros(1)})
    with pytest.raises(KeyError, match='does not start with'):
        convert_yolo11_state_dict({'backbone.conv.weight': torch.zeros(1)})
    with pytest.raises(FileNotFoundError):
        load_ultralytics_state_dict(str(tmp_path / 'missing.pt'))
    bad = tmp_path / 'list.pt'
    torch.save([1, 2], bad)
    with pytest.raises(ValueError, match='neither an Ultralytics model'):
        load_ultralytics_state_dict(str(bad))
