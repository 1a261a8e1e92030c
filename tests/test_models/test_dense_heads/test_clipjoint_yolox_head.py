# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""ClipJointYOLOXHead: losses, gradients, score modes, stock parity."""
import os.path as osp

import pytest
import torch

from ._helpers import build, feats, samples, stock_twin, total_loss

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))
CFG = osp.join(ROOT, 'configs', 'clipjoint_yolox',
               'clipjoint-yolox_s_8xb8-300e_coco.py')
CH = 128  # YOLOX-s neck / head width


def test_loss_empty_gt():
    head = build(CFG)
    head.train()
    losses = head.loss(feats(CH), samples([0, 0]))
    # as mmdet's YOLOX test: only the objectness loss without boxes
    assert losses['loss_obj'] > 0
    assert losses['loss_cls'] == 0 and losses['loss_bbox'] == 0
    assert losses['loss_contrast'] == 0
    assert losses['loss_contrast'].requires_grad
    assert losses['loss_clip_ce'] > 0  # mined negatives -> background
    for k in ('loss_contrast', 'loss_clip_ce'):
        assert torch.isfinite(losses[k]), k


def test_loss_with_gt_and_gradients():
    head = build(CFG)
    head.train()
    losses = head.loss(feats(CH), samples([3, 1]))
    for k in ('loss_cls', 'loss_bbox', 'loss_obj', 'loss_contrast',
              'loss_clip_ce'):
        assert losses[k] > 0, k
    total_loss(losses).backward()
    for conv in (head.proj[0], head.proj[2]):
        assert conv.weight.grad.abs().sum() > 0
    assert head.text_bank.embeddings.grad.abs().sum() > 0
    assert head.text_bank.log_scale.grad.abs().sum() > 0
    assert head.multi_level_cls_convs[0][0].conv.weight.grad.abs().sum() > 0


def test_frozen_bank_gets_no_gradient():
    head = build(CFG, text_bank=dict(learnable=False,
                                     learn_temperature=False))
    head.train()
    total_loss(head.loss(feats(CH), samples([2, 2]))).backward()
    bank = head.text_bank
    assert bank.embeddings.grad is None and bank.log_scale.grad is None
    assert head.proj[2].weight.grad.abs().sum() > 0


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


@pytest.mark.parametrize('score_mode', ['det', 'clip', 'fuse'])
def test_predict_every_score_mode(score_mode):
    head = build(CFG, score_mode=score_mode)
    head.eval()
    calls = []
    head.proj.register_forward_hook(lambda *a: calls.append(1))
    with torch.no_grad():
        outs = head(feats(CH))
        res = head.predict(feats(CH), samples([1, 1]), rescale=False)
    assert len(outs) == (3 if score_mode == 'det' else 4)
    assert bool(calls) == (score_mode != 'det')
    assert len(res) == 2
    for r in res:
        n = len(r.bboxes)
        assert n > 0
        assert r.bboxes.shape == (n, 4) and r.scores.shape == (n, )
        assert ((r.scores >= 0) & (r.scores <= 1)).all()
        assert ((r.labels >= 0) & (r.labels < head.num_classes)).all()


def test_det_mode_equals_stock_head_fuse_differs():
    head = build(CFG, score_mode='det')
    stock = stock_twin(CFG, 'YOLOXHead', head)
    head.eval()
    stock.eval()
    with torch.no_grad():
        a = head.predict(feats(CH), samples([1, 1]))
        b = stock.predict(feats(CH), samples([1, 1]))
        head.score_mode = 'fuse'
        c = head.predict(feats(CH), samples([1, 1]))
    for x, y in zip(a, b):
        assert torch.equal(x.bboxes, y.bboxes)
        assert torch.equal(x.scores, y.scores)
        assert torch.equal(x.labels, y.labels)
    assert not torch.equal(a[0].scores, c[0].scores)


def test_bad_head_config():
    with pytest.raises(ValueError, match='num_classes'):
        build(CFG, num_classes=12)
