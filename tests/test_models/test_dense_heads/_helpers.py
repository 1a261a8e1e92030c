# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Building ClipJoint dense heads (and their stock twins) for CPU tests."""
import copy

import torch
from mmengine.config import Config
from mmengine.structures import InstanceData

import mmdet_clipjoint  # noqa: F401
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmdet.utils import register_all_modules

__all__ = [
    'OURS', 'IMG', 'head_cfg', 'build', 'stock_twin', 'feats', 'samples',
    'total_loss', 'scalar'
]

register_all_modules()

#: the arguments that ClipJoint dense heads add to the stock ones
OURS = ('text_bank', 'proj_hidden', 'loss_contrast', 'loss_aux',
        'quality_weight', 'neg_pos_ratio', 'max_grad_share', 'score_mode',
        'fuse_alpha')
IMG = 128


def head_cfg(config: str, **kw) -> Config:
    """The config's bbox head with its train/test cfg, random text bank."""
    model = Config.fromfile(config).model
    head = copy.deepcopy(model.bbox_head)
    head.update(train_cfg=model.train_cfg, test_cfg=model.test_cfg)
    head.test_cfg.score_thr = 0.0  # random weights: keep every candidate
    head.text_bank.update(init_source='random', cache_dir=None)
    for k, v in kw.items():
        if k == 'text_bank':
            head.text_bank.update(v)
        else:
            head[k] = v
    return head


def build(config: str, **kw):
    torch.manual_seed(0)
    head = MODELS.build(head_cfg(config, **kw))
    head.init_weights()
    return head


def stock_twin(config: str, stock_type: str, head):
    """The stock head, carrying ``head``'s weights (strict=False)."""
    cfg = head_cfg(config)
    for k in OURS:
        cfg.pop(k)
    cfg.type = stock_type
    stock = MODELS.build(cfg)
    missing, unexpected = stock.load_state_dict(head.state_dict(),
                                                strict=False)
    assert not missing, missing
    assert unexpected and all(
        k.startswith(('text_bank.', 'proj.')) for k in unexpected), unexpected
    return stock


def feats(channels: int, batch: int = 2, strides=(8, 16, 32)):
    torch.manual_seed(1)
    return tuple(
        torch.rand(batch, channels, IMG // s, IMG // s) for s in strides)


def samples(num_gts, num_classes: int = 80):
    """DetDataSamples of 128x128 images with ``num_gts[i]`` boxes each."""
    g = torch.Generator().manual_seed(2)
    out = []
    for n in num_gts:
        xy = torch.rand(n, 2, generator=g) * IMG * 0.5
        wh = 16 + torch.rand(n, 2, generator=g) * IMG * 0.4
        s = DetDataSample(
            metainfo=dict(img_shape=(IMG, IMG), pad_shape=(IMG, IMG),
                          ori_shape=(IMG, IMG), scale_factor=(1.0, 1.0),
                          batch_input_shape=(IMG, IMG)))
        s.gt_instances = InstanceData(
            bboxes=torch.cat([xy, (xy + wh).clamp(max=IMG)], 1),
            labels=torch.randint(0, num_classes, (n, ), generator=g))
        out.append(s)
    return out


def total_loss(losses: dict):
    return sum(
        sum(v) if isinstance(v, (list, tuple)) else v
        for k, v in losses.items() if 'loss' in k)


def scalar(v):
    return sum(v) if isinstance(v, (list, tuple)) else v
