# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Bit-identical losses, input gradients and detections of every ClipJoint
head family against a golden file written before the branch refactor
(issue 25).

Each case builds a head from its shipped config and loads a state dict
under the *stored* key names (the old names must still load): the host's
weights from the stock head's seeded initialisation, the branch's a pure
function of each key's name and shape (so they do not depend on the order
in which the branch is built). It runs ``loss`` (with gradients to the
input features) and ``predict`` in every score mode and after a vocabulary
swap, and compares every tensor with zero tolerance.

Regenerate (only on purpose, before a refactor, and say so in the commit)::

    python -m tests.test_models.test_branch_golden --write
"""
import copy
import hashlib
import inspect
import os.path as osp
import sys
import zlib
from typing import Callable, Dict

import pytest
import torch
from mmengine.config import Config

import mmdet_clipjoint  # noqa: F401
from mmdet.registry import MODELS
from mmdet.testing import demo_mm_inputs, demo_mm_proposals
from mmdet.utils import register_all_modules

from ..helpers import assert_nested_close
from .test_dense_heads._helpers import config_path, feats, head_cfg, samples

register_all_modules()

GOLDEN = osp.join(
    osp.dirname(osp.dirname(osp.abspath(__file__))), 'data',
    'branch_golden.pt')
ROI_CFG = config_path('clipjoint_faster-rcnn',
                      'clipjoint-faster-rcnn_r50_fpn_1x_voc0712.py')
IMG = (3, 128, 128)


def _values(key: str, shape, dtype) -> torch.Tensor:
    """The test's weight for ``key``: seeded by the key's name only, scaled
    like a fresh initialisation (fan-in for weights, ~1 for norm scales)."""
    if not dtype.is_floating_point:
        return torch.zeros(shape, dtype=dtype)
    g = torch.Generator().manual_seed(zlib.crc32(key.encode()))
    x = torch.randn(shape, generator=g)
    if key.endswith('running_var'):
        return (0.5 + torch.rand(shape, generator=g)).to(dtype)
    if len(shape) >= 2:
        fan_in = 1
        for n in shape[1:]:
            fan_in *= n
        return (x / fan_in**0.5).to(dtype)
    if key.endswith('.weight'):  # a norm layer's scale
        return (1 + 0.1 * x).to(dtype)
    return (0.05 * x).to(dtype)


def _digest(t: torch.Tensor) -> tuple:
    """(sha256 of the bytes, sum): equal only when bit-identical."""
    return (hashlib.sha256(t.detach().contiguous().numpy().tobytes())
            .hexdigest(), float(t.double().sum()))


def _key_spec(model) -> Dict[str, tuple]:
    return {
        k: (tuple(v.shape), str(v.dtype).replace('torch.', ''))
        for k, v in model.state_dict().items()
    }


def _stock_cfg(cfg, stock_type: str):
    """``cfg`` for the stock class: only the arguments its ``__init__``s
    take (whatever ClipJoint arguments the head has now)."""
    cls = MODELS.get(stock_type)
    allowed = set()
    for klass in cls.__mro__:
        if '__init__' in vars(klass):
            allowed |= set(inspect.signature(klass.__init__).parameters)
    out = {k: v for k, v in cfg.items() if k in allowed}
    out['type'] = stock_type
    return out


def _roi_cfg():
    model = Config.fromfile(ROI_CFG).model
    roi = copy.deepcopy(model.roi_head)
    roi.update(train_cfg=model.train_cfg.rcnn, test_cfg=model.test_cfg.rcnn)
    roi.train_cfg.sampler.num = 64
    roi.bbox_head.text_bank.update(init_source='random', cache_dir=None)
    return roi


def _roi_head(stock: bool = False):
    cfg = _roi_cfg()
    if stock:
        cfg.type = 'StandardRoIHead'
        cfg.bbox_head = _stock_cfg(cfg.bbox_head, 'Shared2FCBBoxHead')
    torch.manual_seed(0)
    return MODELS.build(cfg)


def _roi_inputs():
    packed = demo_mm_inputs(batch_size=1, image_shapes=[IMG],
                            num_items=[3], num_classes=20)
    torch.manual_seed(3)
    proposals = demo_mm_proposals([IMG], 100)
    torch.manual_seed(1)
    x = tuple(
        torch.rand(1, 256, IMG[1] // 2**(i + 2), IMG[2] // 2**(i + 2))
        for i in range(5))
    return x, proposals, packed['data_samples']


def _dense(cfg: str, stock_type: str) -> Callable:
    def make(stock: bool = False):
        c = head_cfg(cfg)
        if stock:
            c = _stock_cfg(c, stock_type)
        torch.manual_seed(0)
        return MODELS.build(c)
    return make


CASES = {
    'roi_faster_rcnn': (_roi_head, None),
    'rtmdet': (_dense(config_path('clipjoint_rtmdet',
                                  'clipjoint-rtmdet_tiny_8xb32-300e_coco.py'),
                      'RTMDetSepBNHead'), 96),
    'yolox': (_dense(config_path('clipjoint_yolox',
                                 'clipjoint-yolox_s_8xb8-300e_coco.py'),
                     'YOLOXHead'), 128),
    'yolo11': (_dense(config_path('clipjoint_yolo11',
                                  'clipjoint-yolo11_n_8xb16-600e_coco.py'),
                      'YOLO11Head'), (64, 128, 256)),
}


def _weights(make: Callable, keys: Dict[str, tuple]) -> dict:
    """The host's weights from the *stock* head's seeded initialisation
    (code the refactor does not touch); every other key (the branch's)
    from :func:`_values` of its stored name."""
    stock = make(stock=True)
    torch.manual_seed(0)
    stock.init_weights()
    host = stock.state_dict()
    return {
        k: host[k].clone() if k in host else _values(
            k, shape, getattr(torch, dtype))
        for k, (shape, dtype) in keys.items()
    }


def _bank(head):
    return head.bbox_head.text_bank if hasattr(head, 'bbox_head') \
        else head.text_bank


def _scored(head):
    return head.bbox_head if hasattr(head, 'bbox_head') else head


def _results(res) -> list:
    # clones: a view would save its whole storage
    return [(r.bboxes.clone(), r.scores.clone(), r.labels.clone())
            for r in res]


def run_case(name: str, keys=None) -> dict:
    """Everything the golden file holds for one case."""
    make, ch = CASES[name]
    head = make()
    keys = keys or _key_spec(head)
    head.load_state_dict(_weights(make, keys), strict=True)
    out = dict(keys=keys)
    torch.set_grad_enabled(True)
    head.train()
    torch.manual_seed(4)
    if ch is None:
        x, proposals, data_samples = _roi_inputs()
        x = tuple(t.requires_grad_() for t in x)
        losses = head.loss(x, proposals, data_samples)
    else:
        x = tuple(t.requires_grad_() for t in feats(ch))
        losses = head.loss(x, samples([3, 1]))
    losses = {
        k: (torch.stack(list(v)) if isinstance(v, (list, tuple)) else v)
        for k, v in losses.items()
    }
    out['losses'] = {k: v.detach().clone() for k, v in losses.items()}
    total = sum(v.sum() for k, v in losses.items() if 'loss' in k)
    total.backward()
    # (a level no RoI is pooled from gets no gradient); kept as a digest of
    # the exact bytes, with the sum to show the size of a difference
    out['input_grads'] = [
        _digest(torch.zeros_like(t) if t.grad is None else t.grad) for t in x
    ]
    head.eval()
    out['predict'] = {}
    with torch.no_grad():
        for mode in ('det', 'fuse', 'clip', 'vocab'):
            if mode == 'vocab':
                g = torch.Generator().manual_seed(5)
                emb = torch.nn.functional.normalize(
                    torch.randn(7, _bank(head).embed_dim, generator=g),
                    dim=-1)
                _bank(head).set_classes([f'name{i}' for i in range(7)], emb)
                mode = 'clip'
            _scored(head).score_mode = mode
            if ch is None:
                x, proposals, data_samples = _roi_inputs()
                res = head.predict(x, proposals, data_samples, rescale=False)
            else:
                res = head.predict(feats(ch), samples([1, 1]), rescale=False)
            key = 'vocab' if _bank(head).is_swapped else mode
            out['predict'][key] = _results(res)
    return out


@pytest.fixture(scope='module')
def golden():
    if not osp.exists(GOLDEN):
        pytest.fail(f'{GOLDEN} is missing: it is committed; restore it '
                    '(git checkout) rather than regenerate it.')
    return torch.load(GOLDEN)


@pytest.mark.parametrize('name', sorted(CASES))
def test_bit_identical(golden, name):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        got = run_case(name, golden[name]['keys'])
    finally:
        torch.set_num_threads(threads)
    ref = golden[name]
    # zero tolerance: bit-identical
    keys = ('losses', 'input_grads', 'predict')
    assert_nested_close({k: ref[k] for k in keys}, {k: got[k] for k in keys},
                        name)
    # the run produced something worth comparing
    assert len(ref['predict']['det'][0][0]) > 0
    assert len(ref['predict']['vocab'][0][0]) > 0
    assert (ref['predict']['vocab'][0][2] < 7).all()
    assert ref['losses']['loss_contrast'] > 0


if __name__ == '__main__':
    if '--write' not in sys.argv:
        sys.exit('usage: python -m tests.test_models.test_branch_golden '
                 '--write')
    torch.set_num_threads(1)
    torch.save({name: run_case(name) for name in sorted(CASES)}, GOLDEN)
    print(f'wrote {GOLDEN}')
