# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Another model's checkpoint is refused for testing and inference, naming
the model, its config and the checkpoint, with an explicit override
(issue 28, item 2)."""
import sys

import pytest
import torch
import torch.nn as nn

import mmdet_clipjoint  # noqa: F401
from mmdet_clipjoint.utils import (ALLOW_PARTIAL_ENV, CheckpointMismatchError,
                                   allow_partial_checkpoint,
                                   checkpoint_coverage)
from ..helpers import small_cfg
from ..test_tools.conftest import FRCNN_CFG, bin_path, run_cmd

RUN = 'rtmdet_tiny_8xb32-300e_coco_20261203_101010'


def test_checkpoint_coverage_counts_weight_values():
    model = nn.Sequential(nn.Linear(10, 10), nn.BatchNorm1d(10))
    sd = model.state_dict()
    full = checkpoint_coverage(model, sd)
    assert full['coverage'] == 1.0 and full['missing'] == []
    part = checkpoint_coverage(model, {'0.weight': sd['0.weight'],
                                       '0.bias': torch.zeros(3),  # shape
                                       'x.y': torch.zeros(1)})
    # 100 of 100 + 10 + 4 * 10 values (num_batches_tracked left out)
    assert part['coverage'] == pytest.approx(100 / 150)
    assert part['missing'] == ['0.bias', '1.weight', '1.bias',
                               '1.running_mean', '1.running_var']
    assert part['unexpected'] == ['x.y']
    assert part['num_keys'] == 6


@pytest.fixture(scope='module')
def frcnn(synthetic_coco, tmp_path_factory):
    """A small ClipJoint Faster R-CNN config on the generated data, its own
    checkpoint, one missing its RPN head and an RTMDet-like checkpoint."""
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    root = tmp_path_factory.mktemp('ckpt_match')
    cfg = small_cfg(root / 'cfg', FRCNN_CFG, synthetic_coco, max_iters=2,
                    img_size=128, dataset_type='CocoDataset')
    cfg.model.roi_head.bbox_head.text_bank.update(init_source='random',
                                                  cache_dir=None)
    cfg.model.backbone.init_cfg = None
    config = str(root / 'clipjoint_frcnn_small.py')
    cfg.dump(config)
    register_all_modules()
    sd = MODELS.build(cfg.model).state_dict()
    meta = dict(dataset_meta=dict(classes=tuple(synthetic_coco['classes'])))
    own, partial, other = (str(root / f'{n}.pth')
                           for n in ('own', 'partial', 'rtmdet'))
    torch.save(dict(state_dict=sd, meta=meta), own)
    torch.save(dict(state_dict={k: v for k, v in sd.items()
                                if not k.startswith('rpn_head.')},
                    meta=meta), partial)
    g = torch.Generator().manual_seed(0)
    torch.save(dict(
        state_dict={
            'backbone.stem.0.conv.weight': torch.randn(16, 3, 3, 3,
                                                       generator=g),
            'neck.reduce_layers.0.conv.weight': torch.randn(8, 16, 1, 1),
            'bbox_head.rtm_cls.0.weight': torch.randn(12, 8, 1, 1)},
        meta=dict(meta, experiment_name=RUN)), other)
    return dict(config=config, own=own, partial=partial, other=other)


def _check_message(msg, frcnn):
    assert f"Refused to load checkpoint {frcnn['other']!r} into FasterRCNN " \
        '(ResNet backbone, ClipJointRoIHead)' in msg
    assert f"of config {frcnn['config']!r}" in msg
    assert "provides only 0.0% of the model's weights" in msg
    assert 'backbone.stem, neck.reduce_layers, bbox_head.rtm_cls' in msg
    assert f'written by run {RUN!r}' in msg
    assert f'{ALLOW_PARTIAL_ENV}=1' in msg


def test_inference_refuses_another_models_checkpoint(frcnn, monkeypatch):
    from mmdet.apis import DetInferencer, init_detector
    monkeypatch.delenv(ALLOW_PARTIAL_ENV, raising=False)
    with pytest.raises(CheckpointMismatchError) as e:
        init_detector(frcnn['config'], frcnn['other'], device='cpu')
    _check_message(str(e.value), frcnn)
    with pytest.raises(CheckpointMismatchError, match='Refused to load'):
        DetInferencer(model=frcnn['config'], weights=frcnn['other'],
                      device='cpu')
    # its own checkpoint, and one missing a small part, load
    for ckpt in (frcnn['own'], frcnn['partial']):
        init_detector(frcnn['config'], ckpt, device='cpu')
    # the explicit overrides
    with allow_partial_checkpoint():
        init_detector(frcnn['config'], frcnn['other'], device='cpu')
    monkeypatch.setenv(ALLOW_PARTIAL_ENV, '1')
    init_detector(frcnn['config'], frcnn['other'], device='cpu')


def test_training_from_another_models_checkpoint_only_warns(frcnn):
    """``load_from`` at the start of a training run (the frames mmengine's
    Runner.train -> load_or_resume has) warns in one line instead."""
    from mmengine.config import Config
    from mmengine.runner import load_checkpoint

    from mmdet.registry import MODELS
    model = MODELS.build(Config.fromfile(frcnn['config']).model)

    def train():
        def load_or_resume():
            return load_checkpoint(model, frcnn['other'])
        return load_or_resume()

    with pytest.warns(UserWarning, match=r'loaded into FasterRCNN .*only '
                      r"0\.0% of the model's weights.*check `load_from`"):
        train()


def test_tools_test_and_mim_test_refuse(frcnn, tmp_path):
    """tools/test.py and ``mim test`` (mmdet's own test.py) stop before
    evaluating; the override lets tools/test.py evaluate anyway."""
    for cmd in ([sys.executable, 'tools/test.py', frcnn['config'],
                 frcnn['other']],
                [bin_path('mim'), 'test', 'mmdet', frcnn['config'],
                 '--checkpoint', frcnn['other']]):
        rc, log = run_cmd(cmd + ['--work-dir', str(tmp_path / 'w')])
        assert rc != 0, log[-3000:]
        _check_message(log, frcnn)
        assert 'coco/bbox_mAP' not in log
        if cmd[1] == 'tools/test.py':  # the wrapper: no traceback
            assert 'test.py: error: Refused to load checkpoint' in log
            assert 'Traceback' not in log
        else:
            assert 'CheckpointMismatchError: Refused to load' in log
