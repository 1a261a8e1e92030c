# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Stock YOLO11-n and ClipJoint-YOLO11-n, end to end on CPU: 20 iterations
of ``mim train`` on the generated data, then ``mim test``, ``tools/test.py``
and ``DetInferencer`` on the checkpoint."""
import os
import os.path as osp
import subprocess
import sys

import pytest
from mmengine.fileio import load

import mmdet_clipjoint  # noqa: F401
from ..helpers import small_cfg
from ._helpers import (ROOT, assert_bank_from_checkpoint,
                       assert_valid_predictions, train_offline)

ITERS = 20


def _run(cmd):
    env = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1',
               PYTHONUNBUFFERED='1')
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900,
                          env=env, cwd=ROOT)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-5000:]
    return log


def _keep_every_score(cfg):
    # 20 iterations from scratch: the prior-initialised class scores stay
    # far below score_thr (0.001), and CocoMetric reports nothing then
    cfg.model.test_cfg.score_thr = 0.0


def _train_stock(tmp_path, data):
    cfg = small_cfg(tmp_path, 'configs/yolo11/yolo11_n_8xb16-600e_coco.py',
                    data, img_size=128, max_iters=ITERS)
    _keep_every_score(cfg)
    path = str(tmp_path / 'yolo11_n_small.py')
    cfg.dump(path)
    work_dir = str(tmp_path / 'mim_work')
    log = _run([osp.join(osp.dirname(sys.executable), 'mim'), 'train',
                'mmdet', path, '--work-dir', work_dir])
    assert 'loss_dfl' in log and 'loss_contrast' not in log
    return path, osp.join(work_dir, f'iter_{ITERS}.pth'), log


@pytest.mark.parametrize('variant', ['stock', 'clipjoint'])
def test_yolo11_train_test_and_inferencer(variant, synthetic_coco, tmp_path):
    from mmdet.apis import DetInferencer
    if variant == 'stock':
        path, ckpt, log = _train_stock(tmp_path, synthetic_coco)
    else:
        path, ckpt, log = train_offline(
            tmp_path,
            'configs/clipjoint_yolo11/clipjoint-yolo11_n_8xb16-600e_coco.py',
            synthetic_coco, edit=_keep_every_score, img_size=128,
            max_iters=ITERS)
    assert f'Iter(train) [{ITERS}/{ITERS}]' in log
    assert 'coco/bbox_mAP' in log
    # mmdet's own tools/test.py through mim, and ours
    out = str(tmp_path / 'mim.pkl')
    log = _run([osp.join(osp.dirname(sys.executable), 'mim'), 'test',
                'mmdet', path, '--checkpoint', ckpt, '--work-dir',
                str(tmp_path / 't1'), '--out', out])
    assert 'coco/bbox_mAP' in log
    results = load(out)
    assert len(results) == 4  # the generated val split
    log = _run([sys.executable, 'tools/test.py', path, ckpt, '--work-dir',
                str(tmp_path / 't2')])
    assert 'coco/bbox_mAP' in log
    # the inference API from the checkpoint (ClipJoint: no CLIP, no file)
    inferencer = DetInferencer(model=path, weights=ckpt, device='cpu',
                               show_progress=False)
    if variant == 'clipjoint':
        assert_bank_from_checkpoint(inferencer.model, ckpt,
                                    'bbox_head.branch.text_bank.embeddings')
    img = osp.join(synthetic_coco['data_root'], 'val', '000000.jpg')
    pred = inferencer(img, no_save_vis=True, return_datasamples=True)
    assert_valid_predictions(pred['predictions'][0].pred_instances)
