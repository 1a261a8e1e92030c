# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""The benchmark's extra score-mode evaluations test the trained (EMA)
weights, as the final validation and the checkpoint do."""
import torch
from mmengine.hooks import EMAHook, Hook
from mmengine.runner import Runner

from mmdet_clipjoint.benchmark.experiments import (build_experiment_cfg,
                                                   evaluate)


class _Capture(Hook):
    """The model's first conv weight as the test epoch sees it."""

    priority = 'LOWEST'  # after EMAHook's swap

    def __init__(self):
        self.seen = []

    def before_test_epoch(self, runner):
        self.seen.append(_first_param(runner.model).clone())


def _first_param(model):
    return next(p for n, p in model.named_parameters()
                if n.startswith('backbone.'))


def test_evaluate_after_training_tests_the_ema_weights(synthetic_coco,
                                                       tmp_path):
    # RTMDet trains with EMAHook; Runner.test() after train() would rebuild
    # the EMA model from the raw weights (EMAHook.before_run) and so test
    # the raw weights instead of the trained EMA ones
    cfg = build_experiment_cfg('rtmdet', 'clipjoint', synthetic_coco,
                               str(tmp_path), 'clean', seed=0, max_iters=4,
                               batch_size=4, img_size=96)
    assert any(h['type'] == 'EMAHook' for h in cfg.custom_hooks)
    cfg.train_cfg.val_interval = 100  # no validation during training
    runner = Runner.from_cfg(cfg)
    capture = _Capture()
    runner.register_hook(capture)
    runner.train()
    ema = next(h for h in runner.hooks if isinstance(h, EMAHook))
    ema_w = _first_param(ema.ema_model.module).detach().clone()
    raw_w = _first_param(runner.model).detach().clone()
    assert not torch.equal(ema_w, raw_w)
    evaluate(runner)
    assert torch.equal(capture.seen[-1], ema_w)
    # and the raw weights are back afterwards (training could go on)
    assert torch.equal(_first_param(runner.model), raw_w)
