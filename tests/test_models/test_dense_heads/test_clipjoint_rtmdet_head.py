# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""ClipJointRTMDetHead (RTMDet): losses, gradients, score modes, stock parity.

The cases every one-stage head passes are in :class:`DenseHeadCases`; the
sampling and normalisation of the shared branch are tested here, once.
"""
import pytest
import torch

from ._helpers import (DenseHeadCases, build, config_path, feats, samples,
                       scalar, stock_twin)

CFG = config_path('clipjoint_rtmdet',
                  'clipjoint-rtmdet_tiny_8xb32-300e_coco.py')
CH = 96  # RTMDet-tiny neck / head width


class TestClipJointRTMDetHead(DenseHeadCases):
    cfg = CFG
    ch = CH
    stock_type = 'RTMDetSepBNHead'
    num_stock_outs = 2  # cls_scores, bbox_preds
    stock_losses = ('loss_cls', 'loss_bbox')
    empty_positive = ('loss_cls', )
    empty_zero = ('loss_bbox', )

    @staticmethod
    def tower_weight(head):
        return head.cls_convs[0][0].conv.weight


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


@pytest.mark.parametrize('honour', [False, True])
def test_honour_ignored_instances(honour):
    """With honour_ignored, background priors whose centre lies inside an
    ignored box get class-loss weight 0 (mmdet's ignore meaning, which
    RTMDet's assigner does not apply); positives and priors outside keep
    theirs. Off (the default) it is the stock behaviour."""
    from mmengine.structures import InstanceData
    head = build(CFG, honour_ignored=honour)
    head.train()
    batch = samples([1, 1])
    box = torch.tensor([[64.0, 64.0, 124.0, 124.0]])
    for s in batch:
        s.ignored_instances = InstanceData(bboxes=box,
                                           labels=torch.zeros(1).long())
    plain = samples([1, 1])
    with head._record_targets() as recs:
        losses = head.loss(feats(CH), batch)
    with head._record_targets() as ref:
        ref_losses = head.loss(feats(CH), plain)
    assert len(recs) == 2
    for r, p in zip(recs, ref):
        anchors, labels, weights = r[0], r[1], r[2]
        c = anchors[:, :2]
        inside = ((c >= box[0, :2]) & (c <= box[0, 2:])).all(-1)
        bg = labels == head.num_classes
        assert (inside & bg).sum() > 10
        if honour:
            assert (weights[inside & bg] == 0).all()
        else:
            torch.testing.assert_close(weights, p[2])
        # outside the ignored box, and every positive, as without it
        torch.testing.assert_close(weights[~inside | ~bg],
                                   p[2][~inside | ~bg])
    same = torch.allclose(scalar(losses['loss_cls']),
                          scalar(ref_losses['loss_cls']))
    assert same != honour


def test_honour_ignored_must_be_bool():
    with pytest.raises(TypeError, match='honour_ignored'):
        build(CFG, honour_ignored='yes')


def test_logit_adjusted_branch_config():
    """The `logit-adjust` config: the branch counts the samples it trains
    (positives by class, mined negatives as background) and adjusts only
    its own terms; the detector's losses are those of the main config."""
    cfg = config_path('clipjoint_rtmdet',
                      'clipjoint-rtmdet_tiny_logit-adjust_8xb32-300e_coco.py')
    adj, main = build(cfg), build(CFG)
    assert adj.branch.logit_adjust == 1.0 and main.branch.logit_adjust == 0
    adj.train()
    main.train()
    data = samples([2, 1])
    got = adj.loss(feats(CH), data)
    ref = main.loss(feats(CH), data)
    counts = adj.branch.label_counts
    assert counts.shape == (adj.num_classes + 1, )
    labels = {int(x) for s in data for x in s.gt_instances.labels}
    pos = counts[:-1]
    # positives only of the images' classes, one count per location
    assert pos.sum() > 0 and set(pos.nonzero().flatten().tolist()) <= labels
    # the mined negatives (neg_pos_ratio per positive) as background
    assert counts[-1] == adj.neg_pos_ratio * pos.sum()
    for k in ('loss_cls', 'loss_bbox'):
        torch.testing.assert_close(scalar(got[k]), scalar(ref[k]))
    assert not torch.allclose(scalar(got['loss_contrast']),
                              scalar(ref['loss_contrast']))
