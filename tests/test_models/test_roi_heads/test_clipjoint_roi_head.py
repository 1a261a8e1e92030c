# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""ClipJointRoIHead: losses, gradients, score modes, state-dict round trip."""
import copy

import pytest
import torch
from mmengine.config import Config

import mmdet_clipjoint  # noqa: F401
from mmdet.registry import MODELS
from mmdet.testing import demo_mm_inputs, demo_mm_proposals
from mmdet.utils import register_all_modules
from mmdet_clipjoint.models.layers import BRANCH_KEYS

CFG = 'configs/clipjoint_faster-rcnn/clipjoint-faster-rcnn_r50_fpn_1x_voc0712.py'
NUM_CLASSES = 20
IMG = (3, 128, 128)

register_all_modules()


def roi_head_cfg(**bbox_head):
    model = Config.fromfile(CFG).model
    roi = copy.deepcopy(model.roi_head)
    roi.update(train_cfg=model.train_cfg.rcnn, test_cfg=model.test_cfg.rcnn)
    roi.train_cfg.sampler.num = 64
    roi.bbox_head.text_bank.update(init_source='random', cache_dir=None)
    for k, v in bbox_head.items():
        if k == 'text_bank':
            roi.bbox_head.text_bank.update(v)
        elif k in BRANCH_KEYS:  # keys of the head's ContrastiveBranch
            roi.bbox_head.branch[k] = v
        else:
            roi.bbox_head[k] = v
    return roi


def build(**bbox_head):
    torch.manual_seed(0)
    head = MODELS.build(roi_head_cfg(**bbox_head))
    head.init_weights()
    return head


def feats(batch=1):
    torch.manual_seed(1)
    return tuple(
        torch.rand(batch, 256, IMG[1] // 2**(i + 2), IMG[2] // 2**(i + 2))
        for i in range(5))


def inputs(num_items, batch=1):
    packed = demo_mm_inputs(batch_size=batch, image_shapes=[IMG] * batch,
                            num_items=num_items, num_classes=NUM_CLASSES)
    samples = [p for p in packed['data_samples']]
    proposals = demo_mm_proposals([IMG] * batch, 100)
    return samples, proposals


def test_loss_empty_gt():
    head = build()
    head.train()
    samples, proposals = inputs([0])
    losses = head.loss(feats(), proposals, samples)
    assert losses['loss_cls'] > 0
    assert losses['loss_bbox'] == 0
    # no foreground RoI: InfoNCE is a zero with a graph, the auxiliary CE
    # still teaches the background entry
    assert losses['loss_contrast'] == 0 and losses['loss_contrast'].requires_grad
    assert losses['loss_clip_ce'] > 0
    for k, v in losses.items():
        assert torch.isfinite(v).all(), k


def test_loss_with_gt_and_gradients():
    head = build()
    head.train()
    # the sampler adds the gt boxes as proposals: foreground RoIs exist
    assert head.train_cfg.sampler.add_gt_as_proposals
    samples, proposals = inputs([3])
    losses = head.loss(feats(), proposals, samples)
    for k in ('loss_cls', 'loss_bbox', 'loss_contrast', 'loss_clip_ce'):
        assert losses[k] > 0, k
    total = sum(v for k, v in losses.items() if 'loss' in k)
    total.backward()
    bh = head.bbox_head
    assert bh.proj[0].weight.grad.abs().sum() > 0
    assert bh.text_bank.embeddings.grad.abs().sum() > 0
    assert bh.text_bank.log_scale.grad.abs().sum() > 0
    assert bh.fc_cls.weight.grad.abs().sum() > 0


def test_frozen_bank_gets_no_gradient():
    head = build(text_bank=dict(learnable=False, learn_temperature=False))
    head.train()
    samples, proposals = inputs([2])
    losses = head.loss(feats(), proposals, samples)
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    bank = head.bbox_head.text_bank
    assert bank.embeddings.grad is None and bank.log_scale.grad is None
    assert head.bbox_head.proj[0].weight.grad.abs().sum() > 0


@pytest.mark.parametrize('background', ['learned', 'zero', None])
@pytest.mark.parametrize('score_mode', ['det', 'clip', 'fuse'])
def test_predict_every_score_mode(score_mode, background):
    aux = {} if background else dict(loss_aux=None)
    head = build(score_mode=score_mode, text_bank=dict(background=background),
                 **aux)
    head.eval()
    samples, proposals = inputs([2])
    metas = [s.metainfo for s in samples]
    with torch.no_grad():
        res = head.predict(feats(), proposals, samples, rescale=False)
    assert len(res) == 1
    r = res[0]
    n = len(r.bboxes)
    assert r.bboxes.shape == (n, 4) and r.scores.shape == (n, )
    assert r.labels.shape == (n, )
    assert n > 0
    assert (r.scores >= 0).all() and (r.scores <= 1).all()
    assert (r.labels >= 0).all() and (r.labels < NUM_CLASSES).all()
    h, w = metas[0]['img_shape']
    assert (r.bboxes[:, 0::2] <= w + 1e-3).all()


def test_det_mode_equals_stock_head():
    """In det mode the branch is skipped: same predictions as the stock
    StandardRoIHead carrying the same weights."""
    head = build(score_mode='det')
    head.eval()
    stock_cfg = roi_head_cfg()
    stock_cfg.type = 'StandardRoIHead'
    bh = stock_cfg.bbox_head
    for k in ('text_bank', 'branch', 'score_mode', 'fuse_alpha'):
        bh.pop(k)
    bh.type = 'Shared2FCBBoxHead'
    stock = MODELS.build(stock_cfg)
    missing, unexpected = stock.load_state_dict(head.state_dict(),
                                                strict=False)
    assert not missing
    assert all('text_bank' in k or 'proj' in k for k in unexpected)
    stock.eval()
    samples, proposals = inputs([2])
    with torch.no_grad():
        a = head.predict(feats(), proposals, samples)[0]
        b = stock.predict(feats(), proposals, samples)[0]
    torch.testing.assert_close(a.bboxes, b.bboxes)
    torch.testing.assert_close(a.scores, b.scores)
    assert torch.equal(a.labels, b.labels)


def test_fuse_differs_from_det_and_state_dict_round_trip():
    head = build(score_mode='fuse')
    head.eval()
    samples, proposals = inputs([2])
    with torch.no_grad():
        fused = head.predict(feats(), proposals, samples)[0]
    # round trip into a freshly built (differently seeded) head
    torch.manual_seed(123)
    other = MODELS.build(roi_head_cfg(score_mode='fuse'))
    other.load_state_dict(head.state_dict())
    other.eval()
    with torch.no_grad():
        again = other.predict(feats(), proposals, samples)[0]
    torch.testing.assert_close(fused.scores, again.scores)
    torch.testing.assert_close(fused.bboxes, again.bboxes)
    head.bbox_head.score_mode = 'det'
    with torch.no_grad():
        det = head.predict(feats(), proposals, samples)[0]
    assert not torch.allclose(det.scores[:5], fused.scores[:5])


@pytest.mark.parametrize('kw,match', [
    (dict(num_classes=19), 'num_classes'),
    (dict(score_mode='mean'), 'score_mode'),
    (dict(fuse_alpha=1.5), 'fuse_alpha'),
    (dict(loss_aux=dict(type='CrossEntropyLoss', loss_weight=-1.0)), '>= 0'),
    (dict(text_bank=dict(background=None)), 'background entry'),
    (dict(max_grad_share=-1.0), 'max_grad_share'),
])
def test_bad_head_config(kw, match):
    with pytest.raises(ValueError, match=match):
        build(**kw)


def test_each_sampled_roi_counted_once():
    """InfoNCE (foreground RoIs) + aux CE (background RoIs) with equal
    weights is exactly one (C + 1)-way CE per sampled RoI, averaged over
    the sampled RoIs like the stock loss_cls -- no RoI counted twice."""
    head = build()
    bh = head.bbox_head
    torch.manual_seed(3)
    emb = torch.nn.functional.normalize(torch.randn(40, 512), dim=-1)
    labels = torch.randint(0, NUM_CLASSES + 1, (40, ))
    labels[:10] = NUM_CLASSES  # plenty of background
    weights = torch.ones(40)
    losses = bh.loss_contrastive(emb, labels, weights)
    logits = bh.text_bank(emb)
    ref = torch.nn.functional.cross_entropy(logits, labels)
    torch.testing.assert_close(
        losses['loss_contrast'] + losses['loss_clip_ce'], ref)
    fg = labels < NUM_CLASSES
    ce = torch.nn.functional.cross_entropy(logits, labels, reduction='none')
    torch.testing.assert_close(losses['loss_contrast'], ce[fg].sum() / 40)


def test_branch_gradient_share_bounded_at_fork():
    """At the shared-FC output, where the branch forks off, the branch's
    gradient is at most max_grad_share x the detector's."""
    grads = {}
    for share in (None, 0.3):
        head = build(max_grad_share=share)
        head.train()
        samples, proposals = inputs([3])
        out = {}  # the last ReLU output: the second shared FC's
        handle = head.bbox_head.relu.register_forward_hook(
            lambda m, i, o: out.__setitem__('z', o))
        losses = head.loss(feats(), proposals, samples)
        handle.remove()
        z = out['z']
        det = losses['loss_cls'] + losses['loss_bbox']
        branch = losses['loss_contrast'] + losses['loss_clip_ce']
        g_det, = torch.autograd.grad(det, z, retain_graph=True)
        g_all, = torch.autograd.grad(det + branch, z)
        grads[share] = float((g_all - g_det).norm() / g_det.norm())
    # unbounded the branch dominates at init; bounded it stays at 0.3
    assert grads[None] > 0.3
    assert grads[0.3] <= 0.3 + 1e-4


def test_score_mode_assignment_is_validated():
    from ..test_dense_heads._helpers import assert_score_mode_validated
    assert_score_mode_validated(build().bbox_head)
