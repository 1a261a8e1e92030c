# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""The named ablations are written once (configs/_base_/clipjoint_ablations.py)
and both the ablation configs and the accuracy benchmark read them."""
import glob
import os.path as osp
import re

import pytest
from mmengine.config import Config

from mmdet_clipjoint.benchmark import experiments
from mmdet_clipjoint.benchmark.experiments import (ABLATIONS_CONFIG,
                                                   CLIPJOINT_VARIANTS)
from mmdet_clipjoint.utils.config_files import config_file

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
NAMED = Config.fromfile(config_file(ABLATIONS_CONFIG))
ABLATION_CONFIGS = sorted(
    p for p in glob.glob(osp.join(ROOT, 'configs', 'clipjoint_*', '*.py'))
    if 'clipjoint_ablations' in open(p).read())
_USE = re.compile(r'_base_\.clipjoint_ablations\.(\w+)')


def _head(cfg):
    model = cfg.model
    return model.roi_head.bbox_head if 'roi_head' in model \
        else model.bbox_head


def _merged(dst, delta):
    out = dict(dst)
    for k, v in delta.items():
        out[k] = _merged(out[k], v) if isinstance(v, dict) and isinstance(
            out.get(k), dict) else v
    return out


def test_ablation_configs_found():
    # 46 ablation configs over the four families
    assert len(ABLATION_CONFIGS) >= 40


@pytest.mark.parametrize(
    'path', ABLATION_CONFIGS, ids=lambda p: osp.basename(p))
def test_ablation_config_is_main_plus_its_named_delta(path):
    names = _USE.findall(open(path).read())
    assert len(names) == 1, f'{path} should plug in exactly one delta'
    cfg = Config.fromfile(path)
    main = Config.fromfile(osp.join(osp.dirname(path), _main_of(path)))
    delta = NAMED.clipjoint_ablations[names[0]].to_dict()
    assert _head(cfg).to_dict() == _merged(_head(main).to_dict(), delta)
    # nothing but the head differs from the main config
    for key in ('optim_wrapper', 'train_cfg', 'custom_hooks'):
        assert cfg.get(key) == main.get(key)


def _main_of(path):
    base = re.search(r"'\./([^']+\.py)'", open(path).read())
    return base.group(1)


def test_benchmark_variants_are_the_named_deltas():
    for method, name in experiments._ABLATION_METHODS.items():
        if name in NAMED.clipjoint_optim_ablations:
            expected = dict(
                paramwise=NAMED.clipjoint_optim_ablations[name].to_dict())
        else:
            expected = NAMED.clipjoint_ablations[name].to_dict()
        assert CLIPJOINT_VARIANTS[method] == expected, method


def test_variants_follow_the_file(tmp_path, monkeypatch):
    """An edit of the named delta reaches the benchmark."""
    src = open(config_file(ABLATIONS_CONFIG)).read()
    edited = src.replace(
        "frozen_text=dict(text_bank=dict(learnable=False))",
        "frozen_text=dict(text_bank=dict(learnable=False, drift_weight=3.0))")
    assert edited != src
    file = tmp_path / 'ablations.py'
    file.write_text(edited)
    monkeypatch.setattr(experiments, 'ABLATIONS_CONFIG', str(file))
    variants = experiments._clipjoint_variants()
    assert variants['clipjoint-frozen-text'] == dict(
        text_bank=dict(learnable=False, drift_weight=3.0))


def test_every_named_delta_is_used():
    used = {n for p in ABLATION_CONFIGS for n in _USE.findall(open(p).read())}
    used |= set(experiments._ABLATION_METHODS.values())
    named = set(NAMED.clipjoint_ablations) | set(
        NAMED.clipjoint_optim_ablations)
    assert named - used == set()
    assert used - named == set()
