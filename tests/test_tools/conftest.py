# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""A ClipJoint Faster R-CNN trained for 2 iterations with ``tools/train.py``
on the generated data, shared by the tool tests."""
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

from ..helpers import small_cfg

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
FRCNN_CFG = osp.join(ROOT, 'configs', 'clipjoint_faster-rcnn',
                     'clipjoint-faster-rcnn_r50_fpn_1x_coco.py')
BANK_KEY = 'model.roi_head.bbox_head.text_bank'


def run_cmd(cmd, timeout=600, **kw):
    """Run a command with one CPU thread per process (the CI machine has 2
    shared cores); returns (returncode, stdout + stderr)."""
    env = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1')
    proc = subprocess.run(cmd, capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=ROOT, **kw)
    return proc.returncode, proc.stdout + proc.stderr


def bin_path(name):
    """An executable of the running virtualenv (mim, torchrun)."""
    return osp.join(osp.dirname(sys.executable), name)


@pytest.fixture(scope='session')
def trained_clipjoint(synthetic_coco, tmp_path_factory):
    """``python tools/train.py CONFIG --work-dir W`` (2 iterations, 128 px),
    the text bank initialised from an embeddings file."""
    from mmdet_clipjoint.models.utils import save_embeddings_file
    root = tmp_path_factory.mktemp('clipjoint_run')
    emb_file = str(root / 'text_emb.pt')
    g = torch.Generator().manual_seed(0)
    emb = F.normalize(torch.randn(len(synthetic_coco['classes']), 512,
                                  generator=g), dim=-1)
    save_embeddings_file(emb_file, emb, synthetic_coco['classes'],
                         model='random', pretrained='none')
    cfg = small_cfg(root / 'cfg', FRCNN_CFG, synthetic_coco, max_iters=2,
                    img_size=128, dataset_type='CocoDataset')
    cfg.model.roi_head.bbox_head.text_bank.update(
        init_source='file', embeddings_file=emb_file, cache_dir=None)
    config = str(root / 'clipjoint_frcnn_tiny.py')
    cfg.dump(config)
    work_dir = str(root / 'work')
    rc, log = run_cmd([sys.executable, 'tools/train.py', config,
                       '--work-dir', work_dir])
    assert rc == 0, log[-5000:]
    ckpt = osp.join(work_dir, 'iter_2.pth')
    assert osp.isfile(ckpt), log[-3000:]
    return dict(config=config, work_dir=work_dir, checkpoint=ckpt,
                emb_file=emb_file, init_embeddings=emb, log=log,
                data=synthetic_coco)
