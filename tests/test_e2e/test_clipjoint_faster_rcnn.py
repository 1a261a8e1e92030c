# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""The VOC and COCO ClipJoint Faster R-CNN configs train via `mim train`,
evaluate with the dataset's metric, and serve through init_detector /
inference_detector from the saved checkpoint with no CLIP weights present."""
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
CFG_DIR = osp.join(ROOT, 'configs', 'clipjoint_faster-rcnn')


@pytest.mark.parametrize('name,dataset_type,metric', [
    ('clipjoint-faster-rcnn_r50_fpn_1x_voc0712.py', 'VOCDataset',
     'pascal_voc/mAP'),
    ('clipjoint-faster-rcnn_r50_fpn_1x_coco.py', 'CocoDataset',
     'coco/bbox_mAP'),
])
def test_mim_train_then_inference(name, dataset_type, metric, synthetic_coco,
                                  tmp_path):
    from mmdet.apis import inference_detector, init_detector

    # offline CLIP initialisation: an embeddings file instead of the hub
    emb_file = str(tmp_path / 'text_emb.pt')
    torch.manual_seed(0)
    save_embeddings_file(
        emb_file, F.normalize(torch.randn(len(synthetic_coco['classes']),
                                          512), dim=-1),
        synthetic_coco['classes'])
    cfg = small_cfg(tmp_path, osp.join(CFG_DIR, name), synthetic_coco,
                    max_iters=2, dataset_type=dataset_type)
    bank = cfg.model.roi_head.bbox_head.text_bank
    bank.update(init_source='file', embeddings_file=emb_file, cache_dir=None)
    path = str(tmp_path / name)
    cfg.dump(path)
    work_dir = str(tmp_path / 'mim_work')
    mim = osp.join(osp.dirname(sys.executable), 'mim')
    proc = subprocess.run(
        [mim, 'train', 'mmdet', path, '--work-dir', work_dir],
        capture_output=True, text=True, timeout=900)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    assert metric in log
    assert 'loss_contrast' in log and 'loss_clip_ce' in log
    assert 'initialised from' in log  # the text bank read the file

    # inference needs neither CLIP weights nor the embeddings file
    os.remove(emb_file)
    ckpt = osp.join(work_dir, 'iter_2.pth')
    model = init_detector(path, ckpt, device='cpu')
    saved = torch.load(ckpt)['state_dict']
    key = 'roi_head.bbox_head.text_bank.embeddings'
    torch.testing.assert_close(model.state_dict()[key], saved[key])
    img = osp.join(synthetic_coco['data_root'], 'val', '000000.jpg')
    result = inference_detector(model, img)
    pred = result.pred_instances
    assert pred.bboxes.shape[1] == 4
    assert len(pred.scores) == len(pred.labels)
    assert ((pred.scores >= 0) & (pred.scores <= 1)).all()
