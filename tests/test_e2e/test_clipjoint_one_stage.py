# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""The RTMDet-tiny and YOLOX-s ClipJoint configs train via `mim train`,
evaluate with CocoMetric, and serve through DetInferencer from the saved
checkpoint with no CLIP weights and no embeddings file present."""
import os.path as osp

import pytest

import mmdet_clipjoint  # noqa: F401
from ._helpers import (assert_bank_from_checkpoint, assert_valid_predictions,
                       train_offline)


def _keep_every_score(cfg):
    # 2 iterations from scratch: YOLOX's obj * cls scores stay below its
    # score_thr (0.01), and CocoMetric reports nothing for no detections
    cfg.model.test_cfg.score_thr = 0.0


@pytest.mark.parametrize('config', [
    'clipjoint_rtmdet/clipjoint-rtmdet_tiny_8xb32-300e_coco.py',
    'clipjoint_yolox/clipjoint-yolox_s_8xb8-300e_coco.py',
])
def test_mim_train_then_inferencer(config, synthetic_coco, tmp_path):
    from mmdet.apis import DetInferencer

    path, ckpt, log = train_offline(
        tmp_path, osp.join('configs', config), synthetic_coco,
        edit=_keep_every_score, img_size=128, max_iters=2)
    assert 'coco/bbox_mAP' in log

    # serving needs neither CLIP weights nor the embeddings file
    inferencer = DetInferencer(model=path, weights=ckpt, device='cpu',
                               show_progress=False)
    assert_bank_from_checkpoint(inferencer.model, ckpt,
                                'bbox_head.branch.text_bank.embeddings')
    img = osp.join(synthetic_coco['data_root'], 'val', '000000.jpg')
    out = inferencer(img, no_save_vis=True, return_datasamples=True)
    assert_valid_predictions(out['predictions'][0].pred_instances)
