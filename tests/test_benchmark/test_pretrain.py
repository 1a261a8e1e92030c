# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""The synthetic pre-training: cached once, reused, and loaded into the
backbone + neck of every benchmark run."""
import json
import os
import os.path as osp
import time

import pytest
import torch
from mmengine.runner import Runner

import mmdet_clipjoint  # noqa: F401
from mmdet_clipjoint.datasets import SYNTHETIC_SOURCE_CLASSES
from mmdet_clipjoint.benchmark import pretrain
from mmdet_clipjoint.benchmark.experiments import build_experiment_cfg

# a tiny pre-training: 2 iterations on 4 source images
TINY = dict(num_train=4, num_val=2, img_size=96, max_iters=2, batch_size=2)


@pytest.fixture(scope='module')
def tiny_pretrain(tmp_path_factory):
    cache = str(tmp_path_factory.mktemp('pretrain_cache'))
    t = time.time()
    path = pretrain.ensure_pretrained_trunk('frcnn', cache, **TINY)
    return dict(cache=cache, path=path, seconds=time.time() - t)


def test_pretraining_writes_trunk_weights_and_stamp(tiny_pretrain):
    path, cache = tiny_pretrain['path'], tiny_pretrain['cache']
    params = pretrain.pretrain_params('frcnn', **TINY)
    assert path == pretrain.pretrain_cache_path(params, cache)
    assert osp.dirname(path) == osp.abspath(cache)
    assert osp.basename(path).startswith('frcnn_')
    # plain tensors: loadable weights-only, backbone + neck keys only
    ckpt = torch.load(path, weights_only=True)
    assert set(ckpt) == {'state_dict'}
    keys = list(ckpt['state_dict'])
    assert all(k.startswith(('backbone.', 'neck.')) for k in keys)
    assert any(k.startswith('backbone.') for k in keys)
    assert any(k.startswith('neck.') for k in keys)
    assert all(isinstance(v, torch.Tensor)
               for v in ckpt['state_dict'].values())
    stamp = pretrain.load_pretrain_stamp(path)
    assert stamp['params'] == params
    assert stamp['params']['classes'] == list(SYNTHETIC_SOURCE_CLASSES)
    assert 0.0 <= stamp['val_mAP'] <= 1.0
    assert len(stamp['loss_curve']) == 2  # one logged loss per iteration
    assert stamp['num_tensors'] == len(keys)
    # atomic writes leave no temporary file; the lock is released
    assert not [f for f in os.listdir(cache)
                if f.endswith(('.tmp', '.lock'))]
    # the source data was generated with the source vocabulary
    data_dirs = os.listdir(osp.join(cache, 'data'))
    assert len(data_dirs) == 1
    with open(osp.join(cache, 'data', data_dirs[0], 'dataset.json')) as f:
        assert json.load(f)['data']['classes'] == list(
            SYNTHETIC_SOURCE_CLASSES)


def test_second_call_reuses_the_cache(tiny_pretrain, monkeypatch):
    path = tiny_pretrain['path']
    mtime = os.stat(path).st_mtime_ns

    def no_training(*args, **kwargs):
        raise AssertionError('the cached pre-training was trained again')

    monkeypatch.setattr(pretrain, '_train', no_training)
    monkeypatch.setattr(pretrain, '_source_data', no_training)
    assert pretrain.ensure_pretrained_trunk('frcnn', tiny_pretrain['cache'],
                                            **TINY) == path
    assert os.stat(path).st_mtime_ns == mtime
    # other parameters: another file, trained (here: a stand-in)
    calls = []

    def fake_train(detector, params, data, work_dir):
        calls.append(params['max_iters'])
        return {'backbone.w': torch.zeros(1)}, dict(val_mAP=0.0)

    monkeypatch.setattr(pretrain, '_train', fake_train)
    monkeypatch.setattr(pretrain, '_source_data', lambda root, p: {})
    other = pretrain.ensure_pretrained_trunk(
        'frcnn', tiny_pretrain['cache'], **dict(TINY, max_iters=3))
    assert other != path and calls == [3]
    assert pretrain.ensure_pretrained_trunk(
        'frcnn', tiny_pretrain['cache'], **dict(TINY, max_iters=3)) == other
    assert calls == [3]
    # a weights file without its stamp (a killed write) is redone
    os.remove(other[:-len('.pth')] + '.json')
    pretrain.ensure_pretrained_trunk('frcnn', tiny_pretrain['cache'],
                                     **dict(TINY, max_iters=3))
    assert calls == [3, 3]


def test_unknown_parameter_is_refused():
    with pytest.raises(TypeError, match='max_iter'):
        pretrain.pretrain_params('frcnn', max_iter=3)
    with pytest.raises(ValueError, match='detector'):
        pretrain.pretrain_params('yolox')


def _trunk(model):
    return {k: v for k, v in model.state_dict().items()
            if k.startswith(('backbone.', 'neck.'))}


def _assert_trunk_is(cfg, expected):
    """The runner built from ``cfg`` starts with exactly ``expected`` as
    its backbone + neck."""
    runner = Runner.from_cfg(cfg)
    runner.model.init_weights()
    trunk = _trunk(runner.model)
    assert set(trunk) == set(expected)
    for k, v in expected.items():
        assert torch.equal(trunk[k], v), k


def test_run_initialises_backbone_and_neck_from_the_cache(
        tiny_pretrain, synthetic_coco, tmp_path):
    saved = torch.load(tiny_pretrain['path'],
                       weights_only=True)['state_dict']
    cfg = build_experiment_cfg('frcnn', 'stock', synthetic_coco,
                               str(tmp_path / 'pt'), 'both', seed=1,
                               max_iters=1, img_size=128,
                               pretrained=tiny_pretrain['path'])
    assert cfg.model.backbone.init_cfg == dict(
        type='Pretrained', checkpoint=tiny_pretrain['path'],
        prefix='backbone.')
    assert cfg.model.neck.init_cfg['prefix'] == 'neck.'
    _assert_trunk_is(cfg, saved)
    # without it the trunk starts elsewhere (the comparison can fail)
    cfg0 = build_experiment_cfg('frcnn', 'stock', synthetic_coco,
                                str(tmp_path / 'scratch'), 'both', seed=1,
                                max_iters=1, img_size=128)
    assert cfg0.model.backbone.init_cfg is None
    runner0 = Runner.from_cfg(cfg0)
    runner0.model.init_weights()
    assert not all(torch.equal(v, _trunk(runner0.model)[k])
                   for k, v in saved.items())


@pytest.mark.parametrize('method', ['stock', 'clipjoint'])
def test_rtmdet_trunk_loads_through_the_prefix(method, synthetic_coco,
                                               tmp_path):
    """RTMDet's CSPNeXt + PAFPN (and a ClipJoint run's) load the same file
    as the stock model that wrote it."""
    src = build_experiment_cfg('rtmdet', 'stock', synthetic_coco,
                               str(tmp_path / 'src'), max_iters=1)
    model = Runner.from_cfg(src).model
    g = torch.Generator().manual_seed(0)
    state = {k: (v + torch.randn(v.shape, generator=g)
                 if v.is_floating_point() else v + 1)
             for k, v in pretrain.extract_trunk_state_dict(model).items()}
    path = str(tmp_path / 'trunk.pth')
    torch.save(dict(state_dict=state), path)
    cfg = build_experiment_cfg('rtmdet', method, synthetic_coco,
                               str(tmp_path / 'dst'), max_iters=1,
                               pretrained=path)
    _assert_trunk_is(cfg, state)


def test_busy_pretraining_is_left_to_its_worker(tmp_path, monkeypatch):
    """While a live process holds the lock, ``wait=False`` returns None at
    once; a dead holder's lock is taken over."""
    import subprocess
    import sys
    params = pretrain.pretrain_params('rtmdet', **TINY)
    path = pretrain.pretrain_cache_path(params, str(tmp_path))
    os.makedirs(tmp_path, exist_ok=True)
    with open(path + '.lock', 'w') as f:
        f.write(str(os.getpid()))  # a live holder
    calls = []
    monkeypatch.setattr(pretrain, '_source_data', lambda root, p: {})
    monkeypatch.setattr(
        pretrain, '_train', lambda *a: calls.append(1) or
        ({'backbone.w': torch.zeros(1)}, dict(val_mAP=0.0)))
    t = time.time()
    assert pretrain.ensure_pretrained_trunk('rtmdet', str(tmp_path),
                                            wait=False, **TINY) is None
    assert time.time() - t < 1 and not calls
    dead = subprocess.run([sys.executable, '-c',
                           'import os; print(os.getpid())'],
                          capture_output=True, text=True).stdout.strip()
    with open(path + '.lock', 'w') as f:
        f.write(dead)
    assert pretrain.ensure_pretrained_trunk('rtmdet', str(tmp_path),
                                            wait=False, **TINY) == path
    assert calls == [1] and not osp.exists(path + '.lock')
