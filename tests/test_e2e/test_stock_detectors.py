# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""The stack works end to end on CPU: stock mmdet detectors train, evaluate
with CocoMetric / VOCMetric, run through ``mim train``, and resume."""
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.hooks import Hook
from mmengine.runner import Runner

import mmdet_clipjoint  # noqa: F401  (registers, fixes checkpoint loading)
from ..helpers import small_cfg

FRCNN = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
FRCNN_VOC = 'mmdet::pascal_voc/faster-rcnn_r50_fpn_1x_voc0712.py'
RTMDET = 'mmdet::rtmdet/rtmdet_tiny_8xb32-300e_coco.py'


class _Recorder(Hook):
    """Remembers the iteration and weights when training (re)starts."""

    def before_train(self, runner):
        self.start_iter = runner.iter
        self.start_state = {
            k: v.detach().clone()
            for k, v in runner.model.state_dict().items()
        }


@pytest.mark.parametrize('base', [FRCNN, RTMDET])
def test_stock_detector_trains_and_evaluates(base, synthetic_coco, tmp_path):
    cfg = small_cfg(tmp_path, base, synthetic_coco, max_iters=3)
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.iter == 3
    metrics = runner.test()
    assert 'coco/bbox_mAP' in metrics
    assert 0.0 <= metrics['coco/bbox_mAP'] <= 1.0
    assert osp.isfile(osp.join(cfg.work_dir, 'iter_3.pth'))


def test_voc_loader_and_metric(synthetic_coco, tmp_path):
    cfg = small_cfg(tmp_path, FRCNN_VOC, synthetic_coco, max_iters=2,
                    dataset_type='VOCDataset')
    runner = Runner.from_cfg(cfg)
    runner.train()
    metrics = runner.test()
    assert 'pascal_voc/mAP' in metrics


def test_checkpoint_loads_weights_only_and_resumes(synthetic_coco,
                                                   tmp_path):
    # Faster R-CNN: no EMA hook, so the saved state_dict is the live one
    # uninterrupted: 4 iterations, checkpoints at 2 and 4
    cfg = small_cfg(tmp_path / 'a', FRCNN, synthetic_coco, max_iters=4,
                    checkpoint_interval=2)
    Runner.from_cfg(cfg).train()
    ckpt2 = osp.join(cfg.work_dir, 'iter_2.pth')
    # the checkpoint holds mmengine's non-tensor objects (HistoryBuffer,
    # numpy) and still loads with torch's default weights-only unpickler
    ckpt = torch.load(ckpt2, map_location='cpu')
    assert ckpt['meta']['iter'] == 2
    assert 'message_hub' in ckpt and 'optimizer' in ckpt

    # resume from iter 2 in a new work dir: counter and weights continue
    cfg2 = small_cfg(tmp_path / 'b', FRCNN, synthetic_coco, max_iters=4,
                     checkpoint_interval=2)
    cfg2.resume = True
    cfg2.load_from = ckpt2
    runner = Runner.from_cfg(cfg2)
    rec = _Recorder()
    runner.register_hook(rec)
    runner.train()
    assert rec.start_iter == 2
    for k, v in ckpt['state_dict'].items():
        torch.testing.assert_close(rec.start_state[k], v, msg=k)
    assert runner.iter == 4
    # and training went on from there: the weights moved
    final = runner.model.state_dict()
    assert any(not torch.equal(final[k], v)
               for k, v in ckpt['state_dict'].items() if v.is_floating_point())


def test_load_from_uses_safe_loading(synthetic_coco, tmp_path):
    cfg = small_cfg(tmp_path / 'a', RTMDET, synthetic_coco, max_iters=1)
    Runner.from_cfg(cfg).train()
    cfg2 = small_cfg(tmp_path / 'b', RTMDET, synthetic_coco, max_iters=1)
    cfg2.load_from = osp.join(cfg.work_dir, 'iter_1.pth')
    metrics = Runner.from_cfg(cfg2).test()
    assert 'coco/bbox_mAP' in metrics


def test_arbitrary_pickled_object_is_refused(tmp_path):
    """Only the allow-listed globals load; weights-only stays on."""
    from mmengine.runner import CheckpointLoader
    path = str(tmp_path / 'evil.pth')
    torch.save({'state_dict': {}, 'meta': {'x': subprocess.Popen}}, path)
    with pytest.raises(Exception, match='(?i)weights_only|unsupported global'):
        CheckpointLoader.load_checkpoint(path, map_location='cpu')


def test_mim_train_subprocess(synthetic_coco, tmp_path):
    cfg = small_cfg(tmp_path, RTMDET, synthetic_coco, max_iters=2)
    cfg.custom_imports = dict(imports=['mmdet_clipjoint'],
                              allow_failed_imports=False)
    path = str(tmp_path / 'rtmdet_tiny_smoke.py')
    cfg.dump(path)
    mim = osp.join(osp.dirname(sys.executable), 'mim')
    work_dir = str(tmp_path / 'mim_work')
    proc = subprocess.run(
        [mim, 'train', 'mmdet', path, '--work-dir', work_dir],
        capture_output=True, text=True, timeout=600,
        env={**os.environ, 'PYTHONUNBUFFERED': '1'})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert osp.isfile(osp.join(work_dir, 'iter_2.pth'))
    assert 'coco/bbox_mAP' in proc.stdout + proc.stderr


def test_history_buffer_getattr_is_restricted():
    """The stand-in for builtins.getattr resolves only HistoryBuffer's
    statistics methods, in a fresh process state too."""
    import pickle

    from mmengine.logging import HistoryBuffer

    from mmdet_clipjoint.utils.safe_checkpoint import _history_buffer_getattr
    assert _history_buffer_getattr(HistoryBuffer, 'mean') is \
        HistoryBuffer.mean
    with pytest.raises(pickle.UnpicklingError, match='only'):
        _history_buffer_getattr(HistoryBuffer, '__init__')
    with pytest.raises(pickle.UnpicklingError, match='only'):
        _history_buffer_getattr(os, 'system')
