# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""tools/train.py, tools/test.py, ``mim test`` and a 2-process torchrun run
on CPU, all on the generated data (the checkpoints load under torch >= 2.6
through mmdet_clipjoint's safe globals)."""
import os
import os.path as osp
import re
import sys

import numpy as np
import torch
from mmengine.fileio import load

from .conftest import bin_path, run_cmd


def test_train_wrapper_runs_mmdet_train(trained_clipjoint):
    log = trained_clipjoint['log']
    assert 'Iter(train) [2/2]' in log
    assert 'loss_contrast' in log and 'loss_clip_ce' in log
    assert 'coco/bbox_mAP' in log  # mmdet's CocoMetric at the end
    assert 'initialised from ' + trained_clipjoint['emb_file'] in log
    ckpt = torch.load(trained_clipjoint['checkpoint'])
    classes = trained_clipjoint['data']['classes']
    assert tuple(ckpt['meta']['dataset_meta']['classes']) == tuple(classes)
    emb = ckpt['state_dict']['roi_head.bbox_head.branch.text_bank.embeddings']
    assert emb.shape == (len(classes), 512)


def test_torchrun_two_processes_resume(trained_clipjoint, tmp_path):
    """2 CPU processes (gloo) resume the 2-iteration run up to 3."""
    work_dir = str(tmp_path / 'ddp')
    rc, log = run_cmd([
        bin_path('torchrun'), '--standalone', '--nproc_per_node', '2',
        'tools/train.py', trained_clipjoint['config'], '--launcher',
        'pytorch', '--work-dir', work_dir, '--resume',
        trained_clipjoint['checkpoint'], '--cfg-options',
        'train_cfg.max_iters=3'
    ])
    assert rc == 0, log[-6000:]
    assert 'Distributed training: True' in log
    assert 'GPU number: 2' in log  # mmengine's name for the world size
    assert re.search(r'resumed epoch: \d+, iter: 2', log), log[-3000:]
    assert 'Iter(train) [3/3]' in log and 'Iter(train) [1/3]' not in log
    # the bank came from the checkpoint, not from the embeddings file
    assert 'the text bank comes from the checkpoint (no CLIP / file' in log
    ckpt = torch.load(osp.join(work_dir, 'iter_3.pth'))
    assert ckpt['meta']['iter'] == 3
    assert 'roi_head.bbox_head.branch.text_bank.log_scale' in ckpt['state_dict']


def _top_scores(results):
    by_img = {r['img_id']: r['pred_instances']['scores'] for r in results}
    return [np.asarray(by_img[k][:10]) for k in sorted(by_img)]


def test_tools_test_and_mim_test(trained_clipjoint, tmp_path):
    """tools/test.py (score_mode=fuse via --cfg-options) and ``mim test``
    (the config's det mode) evaluate the same checkpoint; their dumped
    predictions differ, so the override reached the model."""
    cfg, ckpt = trained_clipjoint['config'], trained_clipjoint['checkpoint']
    fuse_pkl, det_pkl = str(tmp_path / 'fuse.pkl'), str(tmp_path / 'det.pkl')
    rc, log = run_cmd([
        sys.executable, 'tools/test.py', cfg, ckpt, '--work-dir',
        str(tmp_path / 't1'), '--out', fuse_pkl, '--cfg-options',
        'model.roi_head.bbox_head.score_mode=fuse'
    ])
    assert rc == 0, log[-5000:]
    assert 'coco/bbox_mAP' in log
    rc, log2 = run_cmd([
        bin_path('mim'), 'test', 'mmdet', cfg, '--checkpoint', ckpt,
        '--work-dir', str(tmp_path / 't2'), '--out', det_pkl
    ])
    assert rc == 0, log2[-5000:]
    assert 'coco/bbox_mAP' in log2
    det, fuse = load(det_pkl), load(fuse_pkl)
    n_val = 4
    assert len(det) == len(fuse) == n_val
    for r in det + fuse:
        inst = r['pred_instances']
        assert inst['bboxes'].shape[1] == 4
        assert len(inst['scores']) == len(inst['labels']) == len(
            inst['bboxes'])
        assert ((inst['scores'] >= 0) & (inst['scores'] <= 1)).all()
    differ = [
        a.shape != b.shape or not np.allclose(a, b)
        for a, b in zip(_top_scores(det), _top_scores(fuse))
    ]
    assert any(differ)


def test_saved_stock_config_is_reusable(synthetic_coco, tmp_path):
    """A run the project writes (here: the stock RTMDet of the benchmark and
    the demo) saves a config that ``tools/test.py`` can use as it is: it
    imports mmdet_clipjoint, whose allow-list loads the checkpoint."""
    from mmengine.runner import Runner

    from mmdet_clipjoint.benchmark import build_experiment_cfg
    cfg = build_experiment_cfg('rtmdet', 'stock', synthetic_coco,
                               str(tmp_path / 'work'), max_iters=1,
                               img_size=96)
    assert 'mmdet_clipjoint' in cfg.custom_imports['imports']
    Runner.from_cfg(cfg).train()
    saved = [f for f in sorted(os.listdir(cfg.work_dir))
             if f.endswith('.py')]
    assert saved, os.listdir(cfg.work_dir)
    # ``mim test`` runs mmdet's own tools/test.py: only the saved config's
    # custom_imports bring mmdet_clipjoint in
    out = str(tmp_path / 'preds.pkl')
    rc, log = run_cmd([bin_path('mim'), 'test', 'mmdet',
                       osp.join(cfg.work_dir, saved[0]), '--checkpoint',
                       osp.join(cfg.work_dir, 'iter_1.pth'), '--work-dir',
                       str(tmp_path / 'test'), '--out', out])
    assert rc == 0, log[-4000:]
    assert len(load(out)) == 4  # predictions for the 4 val images
