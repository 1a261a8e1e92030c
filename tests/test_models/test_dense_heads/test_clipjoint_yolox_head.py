# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""ClipJointYOLOXHead: losses, gradients, score modes, stock parity.

The cases every one-stage head passes are in :class:`DenseHeadCases`; what
is YOLOX's own (objectness, the L1 switch) is tested here.
"""
import torch

from ._helpers import (DenseHeadCases, build, config_path, feats, samples,
                       stock_twin)

CFG = config_path('clipjoint_yolox', 'clipjoint-yolox_s_8xb8-300e_coco.py')
CH = 128  # YOLOX-s neck / head width


class TestClipJointYOLOXHead(DenseHeadCases):
    cfg = CFG
    ch = CH
    stock_type = 'YOLOXHead'
    num_stock_outs = 3  # cls_scores, bbox_preds, objectnesses
    stock_losses = ('loss_cls', 'loss_bbox', 'loss_obj')
    # as mmdet's YOLOX test: only the objectness loss without boxes
    empty_positive = ('loss_obj', )
    empty_zero = ('loss_cls', 'loss_bbox')

    @staticmethod
    def tower_weight(head):
        return head.multi_level_cls_convs[0][0].conv.weight


def test_stock_losses_unchanged_and_l1_switch():
    head = build(CFG)
    stock = stock_twin(CFG, 'YOLOXHead', head)
    head.train()
    stock.train()
    for use_l1 in (False, True):  # YOLOXModeSwitchHook flips use_l1
        head.use_l1 = stock.use_l1 = use_l1
        ours = head.loss(feats(CH), samples([3, 1]))
        ref = stock.loss(feats(CH), samples([3, 1]))
        assert set(ref) < set(ours)
        for k in ref:
            torch.testing.assert_close(ours[k], ref[k])
