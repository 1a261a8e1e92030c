# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""ClipJointYOLOHead (YOLO11): losses, gradients, score modes, stock parity,
and the refusal of configs written when the name was the RTMDet head's."""
import pytest
import torch

from mmdet.registry import MODELS
from ._helpers import (DenseHeadCases, build, config_path, feats, head_cfg,
                       samples, stock_twin)

CFG = config_path('clipjoint_yolo11', 'clipjoint-yolo11_n_8xb16-600e_coco.py')
CH = (64, 128, 256)  # YOLO11-n neck widths


class TestClipJointYOLOHead(DenseHeadCases):
    cfg = CFG
    ch = CH
    stock_type = 'YOLO11Head'
    num_stock_outs = 2  # cls_scores, bbox_dists
    stock_losses = ('loss_cls', 'loss_bbox', 'loss_dfl')
    empty_positive = ('loss_cls', )
    empty_zero = ('loss_bbox', 'loss_dfl')

    @staticmethod
    def tower_weight(head):
        return head.cls_convs[0][0].conv.weight


def test_stock_losses_unchanged_and_batch_scaled():
    head = build(CFG)
    stock = stock_twin(CFG, 'YOLO11Head', head)
    head.train()
    stock.train()
    ours = head.loss(feats(CH), samples([3, 1]))
    ref = stock.loss(feats(CH), samples([3, 1]))
    assert set(ref) < set(ours)
    for k in ref:
        torch.testing.assert_close(ours[k], ref[k])
    # the branch is scaled by the batch size like the host's losses
    head.scale_loss_by_batch = False
    unscaled = head.loss(feats(CH), samples([3, 1]))
    torch.testing.assert_close(ours['loss_contrast'],
                               2 * unscaled['loss_contrast'])


def test_branch_taps_the_classifier_input():
    head = build(CFG)
    assert head.feat_channels == 80  # c3 = max(64, min(80, 100))
    assert head.proj[0].in_channels == head.cls_preds[0].in_channels == 80


def test_old_rtmdet_config_under_this_name_names_the_new_head():
    rtmdet = head_cfg(
        config_path('clipjoint_rtmdet',
                    'clipjoint-rtmdet_tiny_8xb32-300e_coco.py'))
    assert rtmdet.type == 'ClipJointRTMDetHead'
    rtmdet.type = 'ClipJointYOLOHead'  # what such configs said up to 0.1
    with pytest.raises(ValueError, match="type='ClipJointRTMDetHead'"):
        MODELS.build(rtmdet)
