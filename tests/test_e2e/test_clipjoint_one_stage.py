# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""The RTMDet-tiny and YOLOX-s ClipJoint configs train via `mim train`,
evaluate with CocoMetric, and serve through DetInferencer from the saved
checkpoint with no CLIP weights and no embeddings file present."""
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

import mmdet_clipjoint  # noqa: F401
from mmdet_clipjoint.models.utils import save_embeddings_file
from ..helpers import small_cfg

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.mark.parametrize('config', [
    'clipjoint_rtmdet/clipjoint-rtmdet_tiny_8xb32-300e_coco.py',
    'clipjoint_yolox/clipjoint-yolox_s_8xb8-300e_coco.py',
])
def test_mim_train_then_inferencer(config, synthetic_coco, tmp_path):
    from mmdet.apis import DetInferencer

    # offline CLIP initialisation: an embeddings file instead of the hub
    emb_file = str(tmp_path / 'text_emb.pt')
    torch.manual_seed(0)
    save_embeddings_file(
        emb_file, F.normalize(torch.randn(len(synthetic_coco['classes']),
                                          512), dim=-1),
        synthetic_coco['classes'])
    cfg = small_cfg(tmp_path, osp.join(ROOT, 'configs', config),
                    synthetic_coco, img_size=128, max_iters=2)
    assert cfg.model.bbox_head.type.startswith('ClipJoint')
    cfg.model.bbox_head.text_bank.update(
        init_source='file', embeddings_file=emb_file, cache_dir=None)
    # 2 iterations from scratch: YOLOX's obj * cls scores stay below its
    # score_thr (0.01), and CocoMetric reports nothing for no detections
    cfg.model.test_cfg.score_thr = 0.0
    path = str(tmp_path / osp.basename(config))
    cfg.dump(path)
    work_dir = str(tmp_path / 'mim_work')
    mim = osp.join(osp.dirname(sys.executable), 'mim')
    proc = subprocess.run(
        [mim, 'train', 'mmdet', path, '--work-dir', work_dir],
        capture_output=True, text=True, timeout=900)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    assert 'coco/bbox_mAP' in log
    assert 'loss_contrast' in log and 'loss_clip_ce' in log
    assert 'initialised from' in log  # the text bank read the file

    # serving needs neither CLIP weights nor the embeddings file
    os.remove(emb_file)
    ckpt = osp.join(work_dir, 'iter_2.pth')
    inferencer = DetInferencer(model=path, weights=ckpt, device='cpu',
                               show_progress=False)
    saved = torch.load(ckpt)['state_dict']
    key = 'bbox_head.text_bank.embeddings'
    torch.testing.assert_close(inferencer.model.state_dict()[key],
                               saved[key])
    img = osp.join(synthetic_coco['data_root'], 'val', '000000.jpg')
    out = inferencer(img, no_save_vis=True, return_datasamples=True)
    pred = out['predictions'][0].pred_instances
    assert pred.bboxes.shape[1] == 4
    assert len(pred.scores) == len(pred.labels) == len(pred.bboxes)
    assert ((pred.scores >= 0) & (pred.scores <= 1)).all()
