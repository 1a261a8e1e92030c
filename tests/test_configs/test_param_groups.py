# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Every ClipJoint main config trains the text bank without weight decay
and at the configured learning-rate multiplier (configs/_base_/
clipjoint_branch.py), while the detector's own weights keep the stock
settings."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper

import mmdet_clipjoint  # noqa: F401
from mmdet.registry import MODELS
from mmdet.utils import register_all_modules

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
BASE = Config.fromfile(osp.join(ROOT, 'configs', '_base_',
                                'clipjoint_branch.py'))

register_all_modules()


def _main_configs():
    """Every config but the ablations (whose header says so)."""
    out = []
    for p in sorted(glob.glob(osp.join(ROOT, 'configs', 'clipjoint_*',
                                       '*.py'))):
        if not osp.basename(p).startswith('clipjoint'):
            continue  # a stock twin (configs/clipjoint_open_vocab/)
        with open(p) as f:
            if not f.read().startswith('# Ablation'):
                out.append(p)
    return out


@pytest.mark.parametrize('path', _main_configs(),
                         ids=lambda p: osp.basename(p))
def test_bank_param_groups(path):
    cfg = Config.fromfile(path)
    cfg.model.backbone.init_cfg = None
    model = MODELS.build(cfg.model)
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    base_lr = cfg.optim_wrapper.optimizer.lr
    base_wd = cfg.optim_wrapper.optimizer.get('weight_decay', 0)
    assert base_wd > 0  # otherwise the test checks nothing
    names = {id(p): n for n, p in model.named_parameters()}
    seen = set()
    for group in optim.optimizer.param_groups:
        for p in group['params']:
            name = names[id(p)]
            for key, mult in BASE.clipjoint_paramwise_keys.items():
                if key in name:
                    seen.add(key)
                    assert group['weight_decay'] == pytest.approx(
                        base_wd * mult['decay_mult']), name
                    assert group['lr'] == pytest.approx(
                        base_lr * mult['lr_mult']), name
            if name.endswith('proj.0.weight'):
                # the projection is an ordinary layer
                assert group['weight_decay'] == pytest.approx(base_wd)
                assert group['lr'] == pytest.approx(base_lr)
    # a PhraseTextBank computes its class embeddings from its phrase encoder
    # (their stored copy is frozen): only trained entries are in the groups
    trained = {
        k for k in BASE.clipjoint_paramwise_keys
        if any(k in n and p.requires_grad
               for n, p in model.named_parameters())
    }
    assert trained and seen == trained
