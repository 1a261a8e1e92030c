# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""YOLO11 backbone / neck / head / assigner / losses against the facts."""
import math

import pytest
import torch
from mmengine.structures import InstanceData

import mmdet_clipjoint  # noqa: F401
from mmdet.registry import MODELS, TASK_UTILS
from mmdet.structures import DetDataSample
from mmdet.utils import register_all_modules
from mmdet_clipjoint.models.losses import bbox_ciou

register_all_modules()

#: published parameter counts at 80 classes (../shared/YOLO11.md)
PARAMS = dict(n=2_624_080, s=9_458_752, m=20_114_688)
NECK_OUT = dict(n=(64, 128, 256), s=(128, 256, 512), m=(256, 512, 512))


def build_parts(arch: str, num_classes: int = 80, **head_kw):
    torch.manual_seed(0)
    backbone = MODELS.build(dict(type='YOLO11Backbone', arch=arch))
    neck = MODELS.build(
        dict(type='YOLO11PAFPN', arch=arch, in_channels=backbone.out_channels))
    head = MODELS.build(
        dict(type='YOLO11Head', num_classes=num_classes,
             in_channels=neck.out_channels,
             train_cfg=dict(assigner=dict(type='YOLO11TaskAlignedAssigner')),
             test_cfg=dict(nms_pre=1000, score_thr=0.0,
                           nms=dict(type='nms', iou_threshold=0.7),
                           max_per_img=100),
             **head_kw))
    head.init_weights()
    return backbone, neck, head


@pytest.mark.parametrize('arch', ['n', 's', 'm'])
def test_parameter_counts_match_the_published_ones(arch):
    parts = build_parts(arch)
    assert sum(p.numel() for m in parts for p in m.parameters()) == \
        PARAMS[arch]
    assert parts[1].out_channels == NECK_OUT[arch]


def test_forward_shapes_at_every_stride():
    backbone, neck, head = build_parts('n', num_classes=7)
    x = torch.rand(2, 3, 96, 160)
    with torch.no_grad():
        c3, c4, c5 = backbone(x)
        outs = neck((c3, c4, c5))
        cls_scores, dists = head(outs)
    for s, f, ch in zip((8, 16, 32), outs, NECK_OUT['n']):
        assert f.shape == (2, ch, 96 // s, 160 // s)
    for s, c, d in zip((8, 16, 32), cls_scores, dists):
        assert c.shape == (2, 7, 96 // s, 160 // s)
        assert d.shape == (2, 64, 96 // s, 160 // s)
    assert backbone(torch.rand(1, 3, 64, 64))[0].shape[1] == 128  # P3


def test_bias_init_follows_the_prior():
    _, _, head = build_parts('n', num_classes=80)
    for pred, s in zip(head.cls_preds, (8, 16, 32)):
        assert torch.allclose(pred.bias,
                              torch.full_like(pred.bias,
                                              math.log(5 / 80 /
                                                       (640 / s)**2)))
    for pred in head.reg_preds:
        assert torch.all(pred.bias == 1.0)
    assert torch.equal(head.dfl_bins, torch.arange(16.0))
    assert not head.dfl_bins.requires_grad


def _sample(boxes, labels, size=128):
    s = DetDataSample(metainfo=dict(img_shape=(size, size),
                                    pad_shape=(size, size),
                                    ori_shape=(size, size),
                                    scale_factor=(1.0, 1.0),
                                    batch_input_shape=(size, size)))
    s.gt_instances = InstanceData(
        bboxes=torch.tensor(boxes, dtype=torch.float).reshape(-1, 4),
        labels=torch.tensor(labels, dtype=torch.long))
    return s


def _feats(neck_out=NECK_OUT['n'], size=128, batch=2):
    torch.manual_seed(1)
    return tuple(
        torch.rand(batch, ch, size // s, size // s)
        for ch, s in zip(neck_out, (8, 16, 32)))


def test_loss_empty_gt_trains_only_the_classifier():
    _, _, head = build_parts('n', num_classes=5)
    head.train()
    losses = head.loss(_feats(), [_sample([], []), _sample([], [])])
    assert losses['loss_cls'] > 0
    assert losses['loss_bbox'] == 0 and losses['loss_dfl'] == 0
    assert losses['loss_bbox'].requires_grad


def test_loss_with_gt_has_every_term_and_gradients():
    _, _, head = build_parts('n', num_classes=5)
    head.train()
    samples = [
        _sample([[10, 10, 60, 70], [70, 30, 120, 110]], [0, 3]),
        _sample([[20, 40, 100, 100]], [4])
    ]
    losses = head.loss(_feats(), samples)
    for k in ('loss_cls', 'loss_bbox', 'loss_dfl'):
        assert losses[k] > 0, k
    sum(losses.values()).backward()
    assert head.cls_preds[0].weight.grad.abs().sum() > 0
    assert head.reg_preds[0].weight.grad.abs().sum() > 0
    assert head.dfl_bins.grad is None
    # the losses are multiplied by the batch size (the published recipe)
    head.scale_loss_by_batch = False
    unscaled = head.loss(_feats(), samples)
    for k in losses:
        torch.testing.assert_close(losses[k].detach(), 2 * unscaled[k].detach())


def test_predict_returns_boxes_inside_the_image():
    _, _, head = build_parts('n', num_classes=5)
    head.eval()
    with torch.no_grad():
        res = head.predict(_feats(), [_sample([], []), _sample([], [])],
                           rescale=False)
    assert len(res) == 2
    for r in res:
        assert 0 < len(r.bboxes) <= 100
        assert r.bboxes.shape[1] == 4
        assert ((r.scores >= 0) & (r.scores <= 1)).all()
        assert (r.labels < 5).all()


def test_dfl_expectation_and_decoding():
    _, _, head = build_parts('n', num_classes=3)
    # a one-hot distribution on bin 3 for every side -> distance 3 strides
    logits = torch.full((1, 64, 2, 2), -1e4)
    for side in range(4):
        logits[:, side * 16 + 3] = 0
    dist = head.dist_to_distance(logits, 1)
    assert dist.shape == (1, 4, 2, 2)
    torch.testing.assert_close(dist, torch.full_like(dist, 3.0))


# --- assigner -------------------------------------------------------------
def _assign(priors, scores, pred_boxes, gt_boxes, gt_labels, **kw):
    assigner = TASK_UTILS.build(dict(type='YOLO11TaskAlignedAssigner', **kw))
    return assigner.assign(
        InstanceData(priors=torch.tensor(priors, dtype=torch.float),
                     scores=torch.tensor(scores, dtype=torch.float),
                     bboxes=torch.tensor(pred_boxes, dtype=torch.float)),
        InstanceData(bboxes=torch.tensor(gt_boxes, dtype=torch.float),
                     labels=torch.tensor(gt_labels)))


def test_assigner_centre_outside_the_box_is_never_positive():
    # prior 1 predicts the GT box perfectly but its centre lies outside it
    gt = [[0, 0, 10, 10]]
    res = _assign([[5, 5], [15, 5]], [[0.9], [0.9]],
                  [[1, 1, 9, 9], [0, 0, 10, 10]], gt, [0])
    assert res.gt_inds.tolist() == [1, 0]
    assert res.labels.tolist() == [0, -1]
    # the best positive of a GT gets the GT's best CIoU as its target
    ciou = bbox_ciou(torch.tensor(gt[0], dtype=torch.float),
                     torch.tensor([1., 1, 9, 9]))
    torch.testing.assert_close(res.assign_metrics[0], ciou)
    assert res.assign_metrics[1] == 0


def test_assigner_tie_between_two_gts_goes_to_the_better_box():
    # one prior inside two overlapping GTs; its predicted box matches GT 2
    res = _assign([[10, 10]], [[0.5, 0.5]], [[4, 4, 18, 18]],
                  [[0, 0, 20, 20], [5, 5, 17, 17]], [0, 1])
    assert res.gt_inds.tolist() == [2]
    assert res.labels.tolist() == [1]


def test_assigner_keeps_the_topk_best_aligned_candidates():
    # 6 priors inside the GT, better predictions further right; topk 3
    priors = [[float(x), 10.0] for x in range(2, 20, 3)]
    preds = [[0, 0, 12 + i, 20] for i in range(6)]
    res = _assign(priors, [[0.5]] * 6, preds, [[0, 0, 20, 20]], [0], topk=3)
    assert res.gt_inds.tolist() == [0, 0, 0, 1, 1, 1]
    m = res.assign_metrics[3:]
    assert (m[1:] >= m[:-1]).all() and m[-1] > 0


def test_assigner_without_gt():
    res = _assign([[5, 5]], [[0.9]], [[0, 0, 10, 10]],
                  torch.zeros(0, 4).tolist(), [])
    assert res.gt_inds.tolist() == [0] and res.assign_metrics.tolist() == [0]


def test_ciou_of_identical_boxes_is_one_and_ordered():
    a = torch.tensor([[0., 0, 10, 10]])
    assert torch.allclose(bbox_ciou(a, a), torch.ones(1), atol=1e-5)
    near = bbox_ciou(a, torch.tensor([[1., 1, 11, 11]]))
    far = bbox_ciou(a, torch.tensor([[5., 5, 15, 15]]))
    assert 1 > near > far


def test_bad_arch_and_channels_are_refused():
    with pytest.raises(ValueError, match="'q' is not one of"):
        MODELS.build(dict(type='YOLO11Backbone', arch='q'))
    with pytest.raises(ValueError, match='expects in_channels'):
        MODELS.build(dict(type='YOLO11PAFPN', arch='s',
                          in_channels=(64, 128, 256)))


def test_frozen_stages_and_norm_eval():
    backbone = MODELS.build(
        dict(type='YOLO11Backbone', arch='n', frozen_stages=1,
             norm_eval=True))
    backbone.train()
    assert not any(p.requires_grad for p in backbone.stem.parameters())
    assert not any(p.requires_grad for p in backbone.stage1.parameters())
    assert all(p.requires_grad for p in backbone.stage2.parameters())
    assert not backbone.stage3[0].bn.training
