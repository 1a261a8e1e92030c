# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""A run stopped after N iterations and resumed ends exactly where the
uninterrupted run ends: same data order and augmentations, losses, weights
(text bank, temperatures), optimizer state and metric."""
import random

import numpy as np
import pytest
import torch
from mmengine.runner import Runner

from mmdet_clipjoint.engine import RNGStateHook
from mmdet_clipjoint.engine.hooks.rng_state_hook import (_RNGNeutralSkip,
                                                         get_rng_state,
                                                         set_rng_state)
from ..helpers import assert_nested_close
from .common import Recorder, clone_state
from .conftest import MAX_ITERS, reference_cfg

TOL = dict(atol=1e-6, rtol=0)  # observed: bitwise equal


def _draw():
    return (random.random(), float(np.random.rand()), torch.rand(3),
            torch.randperm(10))


def _assert_nested_close(a, b, path='optimizer'):
    assert_nested_close(a, b, path, **TOL)


def test_main_configs_carry_the_hook():
    from mmengine.config import Config

    from .common import CFG_DIR
    for name in ('voc0712', 'coco'):
        cfg = Config.fromfile(
            f'{CFG_DIR}/clipjoint-faster-rcnn_r50_fpn_1x_{name}.py')
        assert any(h['type'] == 'RNGStateHook' for h in cfg.custom_hooks)


def test_rng_state_round_trip_and_neutral_skip():
    state = get_rng_state()
    first = _draw()
    set_rng_state(state)
    again = _draw()
    assert first[:2] == again[:2]
    assert torch.equal(first[2], again[2]) and torch.equal(first[3],
                                                           again[3])

    def consuming():
        while True:
            yield _draw()

    set_rng_state(state)
    it = _RNGNeutralSkip(consuming(), 2)
    next(it), next(it)  # skipped: RNG untouched
    assert torch.equal(torch.rand(3), first[2])
    set_rng_state(state)
    next(it)  # past the skipped items: consumes as usual
    assert not torch.equal(torch.rand(3), first[2])


class _Loop:
    def __init__(self, it, ep=0):
        self.iter, self.epoch = it, ep


class _Runner:
    def __init__(self, it):
        self.train_loop = _Loop(it)


def test_load_from_without_resume_restores_nothing():
    """Fine-tuning from a checkpoint (iteration 0) keeps the fresh seed."""
    hook = RNGStateHook()
    saved = dict(world_size=1, ranks=[get_rng_state()])
    expected = _draw()
    hook.after_load_checkpoint(_Runner(0), {'rng_state': saved})
    hook.before_train_epoch(_Runner(0))
    assert not torch.equal(torch.rand(3), expected[2])
    # and a resumed one (iteration > 0) gets the saved states back
    hook.after_load_checkpoint(_Runner(2), {'rng_state': saved})
    hook.before_train_epoch(_Runner(2))
    assert torch.equal(torch.rand(3), expected[2])


def test_checkpoint_holds_rng_state_weights_only(reference_run):
    ckpt = torch.load(reference_run['ckpt'][2], weights_only=True)
    state = ckpt['rng_state']
    assert state['world_size'] == 1 and len(state['ranks']) == 1
    assert state['ranks'][0]['torch'].dtype == torch.uint8
    assert ckpt['meta']['iter'] == 2


def test_resume_matches_uninterrupted_run(reference_run, synthetic_coco,
                                          tmp_path):
    ref, stop_at = reference_run, 2
    # resuming needs neither CLIP nor the embeddings file
    cfg = reference_cfg(tmp_path, synthetic_coco,
                        emb_file=str(tmp_path / 'not_there.pt'))
    cfg.resume = True
    cfg.load_from = ref['ckpt'][stop_at]
    runner = Runner.from_cfg(cfg)
    rec = Recorder()
    runner.register_hook(rec)
    runner.train()
    ref_rec = ref['recorder']

    assert rec.start_iter == stop_at and runner.iter == MAX_ITERS
    # the same images, in the same order, with the same random flips
    assert rec.batches == ref_rec.batches[stop_at:]
    for got, want in zip(rec.losses, ref_rec.losses[stop_at:]):
        assert got.keys() == want.keys()
        for k in want:
            assert got[k] == pytest.approx(want[k], abs=1e-6), k
    state = clone_state(runner)
    bank_keys = [k for k in state if '.text_bank.' in k]
    assert {k.rsplit('.', 1)[1] for k in bank_keys} >= {
        'embeddings', 'bg_embedding', 'log_scale'}
    for k, v in ref['state'].items():
        torch.testing.assert_close(state[k], v, **TOL, msg=k)
    _assert_nested_close(runner.optim_wrapper.state_dict(), ref['optimizer'])
    assert rec.metrics and rec.metrics == ref_rec.metrics
    assert 'coco/bbox_mAP' in rec.metrics
