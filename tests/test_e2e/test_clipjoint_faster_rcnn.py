# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""The VOC and COCO ClipJoint Faster R-CNN configs train via `mim train`,
evaluate with the dataset's metric, and serve through init_detector /
inference_detector from the saved checkpoint with no CLIP weights present."""
import os.path as osp

import pytest

import mmdet_clipjoint  # noqa: F401
from ._helpers import (assert_bank_from_checkpoint, assert_valid_predictions,
                       train_offline)


@pytest.mark.parametrize('name,dataset_type,metric', [
    ('clipjoint-faster-rcnn_r50_fpn_1x_voc0712.py', 'VOCDataset',
     'pascal_voc/mAP'),
    ('clipjoint-faster-rcnn_r50_fpn_1x_coco.py', 'CocoDataset',
     'coco/bbox_mAP'),
])
def test_mim_train_then_inference(name, dataset_type, metric, synthetic_coco,
                                  tmp_path):
    from mmdet.apis import inference_detector, init_detector

    path, ckpt, log = train_offline(
        tmp_path, osp.join('configs', 'clipjoint_faster-rcnn', name),
        synthetic_coco, max_iters=2, dataset_type=dataset_type)
    assert metric in log

    # inference needs neither CLIP weights nor the embeddings file
    model = init_detector(path, ckpt, device='cpu')
    assert_bank_from_checkpoint(model, ckpt,
                                'roi_head.bbox_head.branch.text_bank.embeddings')
    img = osp.join(synthetic_coco['data_root'], 'val', '000000.jpg')
    assert_valid_predictions(inference_detector(model, img).pred_instances)
