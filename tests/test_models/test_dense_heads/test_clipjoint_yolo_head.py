# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""ClipJointYOLOHead (RTMDet): losses, gradients, score modes, stock parity."""
import os.path as osp

import pytest
import torch

from mmdet.registry import MODELS
from ._helpers import (build, feats, head_cfg, samples, scalar, stock_twin,
                       total_loss)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))
CFG = osp.join(ROOT, 'configs', 'clipjoint_rtmdet',
               'clipjoint-rtmdet_tiny_8xb32-300e_coco.py')
CH = 96  # RTMDet-tiny neck / head width


def test_loss_empty_gt():
    head = build(CFG)
    head.train()
    losses = head.loss(feats(CH), samples([0, 0]))
    assert scalar(losses['loss_cls']) > 0
    assert scalar(losses['loss_bbox']) == 0
    # no positive: InfoNCE is a zero with a graph; the mined negatives
    # still teach the background entry through the auxiliary CE
    assert losses['loss_contrast'] == 0
    assert losses['loss_contrast'].requires_grad
    assert losses['loss_clip_ce'] > 0
    assert 'acc_clip' not in losses
    for k in ('loss_contrast', 'loss_clip_ce'):
        assert torch.isfinite(losses[k]), k


def test_loss_with_gt_and_gradients():
    head = build(CFG)
    head.train()
    losses = head.loss(feats(CH), samples([3, 1]))
    for k in ('loss_cls', 'loss_bbox', 'loss_contrast', 'loss_clip_ce'):
        assert scalar(losses[k]) > 0, k
    assert 0 <= losses['acc_clip'] <= 100
    total_loss(losses).backward()
    for conv in (head.proj[0], head.proj[2]):
        assert conv.weight.grad.abs().sum() > 0
    assert head.text_bank.embeddings.grad.abs().sum() > 0
    assert head.text_bank.bg_embedding.grad.abs().sum() > 0
    assert head.text_bank.log_scale.grad.abs().sum() > 0
    # the branch trains the shared classification tower
    assert head.cls_convs[0][0].conv.weight.grad.abs().sum() > 0


def test_frozen_bank_gets_no_gradient():
    head = build(CFG, text_bank=dict(learnable=False,
                                     learn_temperature=False))
    head.train()
    total_loss(head.loss(feats(CH), samples([2, 2]))).backward()
    bank = head.text_bank
    assert bank.embeddings.grad is None and bank.log_scale.grad is None
    assert head.proj[0].weight.grad.abs().sum() > 0


@pytest.mark.parametrize('background', [None, 'zero'])
def test_background_variants_and_no_aux(background):
    aux = {} if background else dict(loss_aux=None)
    head = build(CFG, text_bank=dict(background=background), **aux)
    head.train()
    empty = head.loss(feats(CH), samples([0, 0]))
    full = head.loss(feats(CH), samples([2, 1]))
    assert full['loss_contrast'] > 0
    # the aux CE teaches the mined negatives the background entry; without
    # one there is no aux CE
    assert ('loss_clip_ce' in full) == (background is not None)
    if background:
        assert full['loss_clip_ce'] > 0 and empty['loss_clip_ce'] > 0
    with pytest.raises(ValueError, match='background entry'):
        build(CFG, text_bank=dict(background=None))


def test_stock_losses_unchanged():
    """The stock cls / box losses equal those of RTMDetSepBNHead."""
    head = build(CFG)
    stock = stock_twin(CFG, 'RTMDetSepBNHead', head)
    head.train()
    stock.train()
    ours = head.loss(feats(CH), samples([3, 1]))
    ref = stock.loss(feats(CH), samples([3, 1]))
    for k in ('loss_cls', 'loss_bbox'):
        torch.testing.assert_close(scalar(ours[k]), scalar(ref[k]))


def test_sampling_quality_and_hard_negatives():
    head = build(CFG, neg_pos_ratio=2)
    C = head.num_classes
    labels = torch.full((1, 10), C)
    labels[0, :3] = torch.tensor([4, 7, 7])
    quality = torch.zeros(1, 10)
    quality[0, :3] = torch.tensor([0.8, 0.4, 0.0])
    valid = torch.ones(1, 10, dtype=torch.bool)
    valid[0, 9] = False  # ignored by the stock loss: never sampled
    hardness = torch.arange(10.).view(1, 10)
    pos, neg, w = head._sample_locations(labels, quality, valid, hardness)
    assert pos.tolist() == [0, 1, 2]
    assert sorted(neg.tolist()) == [3, 4, 5, 6, 7, 8]  # all 6 = 2 x 3
    # the host's quality weights (floored), not re-normalised: the mean-1
    # normalisation undid the host's IoU weighting
    torch.testing.assert_close(w, torch.tensor([0.8, 0.4, head.min_quality]))
    head = build(CFG, neg_pos_ratio=1)
    _, neg, _ = head._sample_locations(labels, quality, valid, hardness)
    assert sorted(neg.tolist()) == [6, 7, 8]  # the hardest
    head = build(CFG, quality_weight=False)
    _, _, w = head._sample_locations(labels, quality, valid, hardness)
    assert (w == 1).all()


def _count_proj_calls(head):
    calls = []
    head.proj.register_forward_hook(lambda *a: calls.append(1))
    return calls


@pytest.mark.parametrize('score_mode', ['det', 'clip', 'fuse'])
def test_predict_every_score_mode(score_mode):
    head = build(CFG, score_mode=score_mode)
    head.eval()
    calls = _count_proj_calls(head)
    with torch.no_grad():
        outs = head(feats(CH))
        res = head.predict(feats(CH), samples([1, 1]), rescale=False)
    # det: exactly the stock outputs, and the branch never runs
    assert len(outs) == (2 if score_mode == 'det' else 3)
    assert bool(calls) == (score_mode != 'det')
    assert len(res) == 2
    for r in res:
        n = len(r.bboxes)
        assert n > 0
        assert r.bboxes.shape == (n, 4) and r.scores.shape == (n, )
        assert r.labels.shape == (n, )
        assert ((r.scores >= 0) & (r.scores <= 1)).all()
        assert ((r.labels >= 0) & (r.labels < head.num_classes)).all()


def test_det_mode_equals_stock_head():
    head = build(CFG, score_mode='det')
    stock = stock_twin(CFG, 'RTMDetSepBNHead', head)
    head.eval()
    stock.eval()
    with torch.no_grad():
        a = head.predict(feats(CH), samples([1, 1]))
        b = stock.predict(feats(CH), samples([1, 1]))
    for x, y in zip(a, b):
        assert torch.equal(x.bboxes, y.bboxes)
        assert torch.equal(x.scores, y.scores)
        assert torch.equal(x.labels, y.labels)


def test_fuse_differs_from_det_and_state_dict_round_trip():
    head = build(CFG, score_mode='fuse')
    head.eval()
    with torch.no_grad():
        fused = head.predict(feats(CH), samples([1]))[0]
    torch.manual_seed(123)
    other = MODELS.build(head_cfg(CFG, score_mode='fuse'))
    other.load_state_dict(head.state_dict())
    other.eval()
    with torch.no_grad():
        again = other.predict(feats(CH), samples([1]))[0]
    torch.testing.assert_close(fused.scores, again.scores)
    head.score_mode = 'det'
    with torch.no_grad():
        det = head.predict(feats(CH), samples([1]))[0]
    assert not torch.allclose(det.scores[:20], fused.scores[:20])


@pytest.mark.parametrize('kw,match', [
    (dict(num_classes=79), 'num_classes'),
    (dict(score_mode='mean'), 'score_mode'),
    (dict(fuse_alpha=1.5), 'fuse_alpha'),
    (dict(neg_pos_ratio=-1), 'neg_pos_ratio'),
    (dict(loss_aux=dict(type='CrossEntropyLoss', loss_weight=-1.0)), '>= 0'),
    (dict(loss_contrast=dict(type='InfoNCELoss', loss_weight=-1.0)), '>= 0'),
])
def test_bad_head_config(kw, match):
    with pytest.raises(ValueError, match=match):
        build(CFG, **kw)


def test_dense_normalisation_like_host():
    """Each sampled location counts once, in one term, and both terms are
    divided by the host's classification normaliser (the sum of the
    positives' quality weights, at least 1)."""
    head = build(CFG, neg_pos_ratio=1)
    C = head.num_classes
    labels = torch.full((1, 8), C)
    labels[0, :2] = torch.tensor([3, 5])
    quality = torch.zeros(1, 8)
    quality[0, :2] = torch.tensor([0.9, 0.6])
    valid = torch.ones(1, 8, dtype=torch.bool)
    hardness = torch.arange(8.).view(1, 8)
    torch.manual_seed(0)
    cls_feats = [torch.randn(1, CH, 2, 4)]  # 8 locations, one level
    losses = head.loss_clipjoint(cls_feats, labels, quality, valid, hardness)
    pos, neg, w = head._sample_locations(labels, quality, valid, hardness)
    x = cls_feats[0].flatten(2)[0].t()  # (8, CH)
    logits = head.text_bank(head.embed(x.t()[None, :, :, None])[0, :, :, 0]
                            .t())
    ce = torch.nn.functional.cross_entropy(
        logits, torch.where(labels[0] < C, labels[0], C), reduction='none')
    avg = max(float(w.sum()), 1.0)
    torch.testing.assert_close(losses['loss_contrast'],
                               (ce[pos] * w).sum() / avg)
    torch.testing.assert_close(losses['loss_clip_ce'],
                               (ce[neg] * w.mean()).sum() / avg)
