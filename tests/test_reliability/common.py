# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Small ClipJoint configs and recording hooks for the reliability tests."""
import json
import math
import os.path as osp
import shutil
from typing import Dict, List, Optional

import torch
from mmengine.hooks import Hook

from ..helpers import small_cfg

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CFG_DIR = osp.join(ROOT, 'configs', 'clipjoint_faster-rcnn')
MAIN_CFG = osp.join(CFG_DIR, 'clipjoint-faster-rcnn_r50_fpn_1x_voc0712.py')

#: channel width of the slimmed Faster R-CNN (FPN, RPN, RoI head, bank)
WIDTH = 64


def slim_clipjoint_cfg(tmp_path, data, base: str = MAIN_CFG,
                       width: int = WIDTH, **shrink):
    """The main ClipJoint config shrunk for a few CPU iterations.

    Besides :func:`shrink_config` (R18, small RoI budgets, 128 px), the
    ResNet-18 is a quarter as wide and the FPN, RPN, box-head and joint-space
    widths are reduced to ``width``, so that an iteration takes well under a
    second on 2 cores and a checkpoint is a few MB. The text bank starts from
    random embeddings (no CLIP, no files).
    """
    shrink.setdefault('img_size', 128)
    cfg = small_cfg(tmp_path, base, data, **shrink)
    m = cfg.model
    m.backbone.base_channels = 16
    m.neck.in_channels = [16, 32, 64, 128]
    m.neck.out_channels = width
    m.rpn_head.update(in_channels=width, feat_channels=width)
    m.roi_head.bbox_roi_extractor.out_channels = width
    m.roi_head.bbox_head.update(in_channels=width, fc_out_channels=width)
    m.roi_head.bbox_head.branch.proj_hidden = width
    m.roi_head.bbox_head.text_bank.update(init_source='random',
                                          cache_dir=None, embed_dim=width)
    return cfg


def bank_cfg(cfg):
    """The text bank's config dict of a Faster R-CNN ClipJoint config."""
    return cfg.model.roi_head.bbox_head.text_bank


def drop_validation(cfg):
    """No evaluation during / after training (faster tests)."""
    cfg.val_dataloader = None
    cfg.val_cfg = None
    cfg.val_evaluator = None
    return cfg


class Recorder(Hook):
    """Records what each training iteration saw and produced.

    Attributes:
        start_iter: ``runner.iter`` when training (re)started.
        batches: per iteration, the image files and flip flags of the batch.
        losses: per iteration, ``{name: float}`` of the logged outputs.
        num_gts: per iteration, the number of ground-truth boxes per image.
        metrics: the last validation metrics.
    """

    priority = 'VERY_LOW'

    def __init__(self) -> None:
        self.start_iter: Optional[int] = None
        self.batches: List = []
        self.losses: List[Dict[str, float]] = []
        self.num_gts: List[List[int]] = []
        self.metrics: Optional[Dict] = None

    def before_train(self, runner) -> None:
        self.start_iter = runner.iter

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        samples = data_batch['data_samples']
        self.batches.append([(osp.basename(s.img_path), bool(s.flip))
                             for s in samples])
        self.num_gts.append([len(s.gt_instances) for s in samples])

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        self.losses.append({
            k: float(torch.as_tensor(v).detach())
            for k, v in outputs.items()
        })

    def after_val_epoch(self, runner, metrics=None) -> None:
        self.metrics = dict(metrics or {})


def model_of(runner):
    """The bare detector (unwrapped from DDP if needed)."""
    model = runner.model
    return model.module if hasattr(model, 'module') else model


def clone_state(runner) -> Dict[str, torch.Tensor]:
    return {k: v.detach().clone()
            for k, v in model_of(runner).state_dict().items()}


def assert_all_finite(losses: List[Dict[str, float]]) -> None:
    for i, it in enumerate(losses):
        for k, v in it.items():
            assert math.isfinite(v), f'iter {i + 1}: {k} = {v}'


def copy_dataset(data: Dict, dst: str) -> Dict:
    """A private copy of a synthetic dataset whose JSON a test may edit."""
    shutil.copytree(data['data_root'], dst)
    return dict(data, data_root=dst)


def load_json(data: Dict, split: str) -> Dict:
    with open(osp.join(data['data_root'], data[f'{split}_ann_file'])) as f:
        return json.load(f)


def dump_json(data: Dict, split: str, obj: Dict) -> None:
    with open(osp.join(data['data_root'], data[f'{split}_ann_file']),
              'w') as f:
        json.dump(obj, f)
