# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Building ClipJoint dense heads (and their stock twins) for CPU tests,
and the cases every one-stage ClipJoint head passes (:class:`DenseHeadCases`).
"""
import copy
import inspect
import os.path as osp
from typing import Tuple

import pytest
import torch
from mmengine.config import Config
from mmengine.structures import InstanceData

import mmdet_clipjoint  # noqa: F401
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmdet.utils import register_all_modules
from mmdet_clipjoint.models.dense_heads import ClipJointDenseMixin
from mmdet_clipjoint.models.layers import BRANCH_KEYS

__all__ = [
    'OURS', 'IMG', 'assert_score_mode_validated', 'config_path', 'head_cfg', 'build', 'stock_twin', 'feats',
    'samples', 'total_loss', 'scalar', 'DenseHeadCases'
]

register_all_modules()

#: the arguments that ClipJoint dense heads add to the stock ones
OURS = tuple(
    name for name in inspect.signature(
        ClipJointDenseMixin.__init__).parameters
    if name not in ('self', 'num_classes', 'in_channels', 'kwargs'))
IMG = 128
ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))


def config_path(folder: str, name: str) -> str:
    """``configs/<folder>/<name>`` of this repository."""
    return osp.join(ROOT, 'configs', folder, name)


def head_cfg(config: str, **kw) -> Config:
    """The config's bbox head with its train/test cfg, random text bank."""
    model = Config.fromfile(config).model
    head = copy.deepcopy(model.bbox_head)
    head.update(train_cfg=model.train_cfg, test_cfg=model.test_cfg)
    head.test_cfg.score_thr = 0.0  # random weights: keep every candidate
    head.text_bank.update(init_source='random', cache_dir=None)
    for k, v in kw.items():
        if k == 'text_bank':
            head.text_bank.update(v)
        elif k in BRANCH_KEYS:  # keys of the head's ContrastiveBranch
            head.branch[k] = v
        else:
            head[k] = v
    return head


def build(config: str, **kw):
    """The config's head (:func:`head_cfg`), seeded and initialised."""
    torch.manual_seed(0)
    head = MODELS.build(head_cfg(config, **kw))
    head.init_weights()
    return head


def stock_twin(config: str, stock_type: str, head):
    """The stock head, carrying ``head``'s weights (strict=False)."""
    cfg = head_cfg(config)
    for k in OURS:
        cfg.pop(k)
    cfg.type = stock_type
    stock = MODELS.build(cfg)
    missing, unexpected = stock.load_state_dict(head.state_dict(),
                                                strict=False)
    assert not missing, missing
    assert unexpected and all(
        k.startswith('branch.') for k in unexpected), unexpected
    return stock


def feats(channels, batch: int = 2, strides=(8, 16, 32)):
    """Random neck outputs, per stride ``(batch, channels, 128 / s, 128 / s)``
    (``channels``: one width for every level, or one per level)."""
    torch.manual_seed(1)
    if isinstance(channels, int):
        channels = [channels] * len(strides)
    return tuple(
        torch.rand(batch, ch, IMG // s, IMG // s)
        for ch, s in zip(channels, strides))


def samples(num_gts, num_classes: int = 80):
    """DetDataSamples of 128x128 images with ``num_gts[i]`` boxes each."""
    g = torch.Generator().manual_seed(2)
    out = []
    for n in num_gts:
        xy = torch.rand(n, 2, generator=g) * IMG * 0.5
        wh = 16 + torch.rand(n, 2, generator=g) * IMG * 0.4
        s = DetDataSample(
            metainfo=dict(img_shape=(IMG, IMG), pad_shape=(IMG, IMG),
                          ori_shape=(IMG, IMG), scale_factor=(1.0, 1.0),
                          batch_input_shape=(IMG, IMG)))
        s.gt_instances = InstanceData(
            bboxes=torch.cat([xy, (xy + wh).clamp(max=IMG)], 1),
            labels=torch.randint(0, num_classes, (n, ), generator=g))
        out.append(s)
    return out


def total_loss(losses: dict):
    """The sum of every ``loss*`` entry (per-level lists summed)."""
    return sum(
        sum(v) if isinstance(v, (list, tuple)) else v
        for k, v in losses.items() if 'loss' in k)


def scalar(v):
    """A loss entry as one tensor (per-level lists summed)."""
    return sum(v) if isinstance(v, (list, tuple)) else v


def _assert_same_results(a, b) -> None:
    """Two lists of :obj:`InstanceData` results are identical."""
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert torch.equal(x.bboxes, y.bboxes)
        assert torch.equal(x.scores, y.scores)
        assert torch.equal(x.labels, y.labels)


def assert_score_mode_validated(head) -> None:
    """Assigning ``score_mode`` / ``fuse_alpha`` (from Python, not the
    config) is checked like the config: nonsense is refused, the head keeps
    its valid setting."""
    for bad, match in (('bogus', 'unknown'), ('CLIP', "lower case: 'clip'"),
                       ('Fuse', "lower case: 'fuse'")):
        with pytest.raises(ValueError, match=match):
            head.score_mode = bad
        assert head.score_mode == 'det'
    for bad in (5.0, -0.1, 'half', True):
        with pytest.raises(ValueError, match='fuse_alpha'):
            head.fuse_alpha = bad
    assert head.fuse_alpha == 0.5
    head.score_mode, head.fuse_alpha = 'clip', 1
    assert (head.score_mode, head.fuse_alpha) == ('clip', 1.0)
    head.score_mode = 'det'
    from mmdet_clipjoint.models.layers import set_score_mode
    with pytest.raises(ValueError, match='fuse_alpha'):
        set_score_mode(head, 'fuse', 5.0)
    assert head.score_mode == 'det'  # nothing changed on a bad call


class DenseHeadCases:
    """What every one-stage ClipJoint head does, whatever its host.

    A test module subclasses it as ``Test<Head>`` and sets the attributes;
    the cases specific to a host stay in that module.
    """

    #: the head's main config (configs/...)
    cfg: str
    #: the host's neck / head width
    ch: int
    #: the stock head it extends, for the parity checks
    stock_type: str
    #: how many outputs the stock forward returns
    num_stock_outs: int
    #: stock losses that are positive with ground truth
    stock_losses: Tuple[str, ...]
    #: stock losses that are positive / zero without ground truth
    empty_positive: Tuple[str, ...]
    empty_zero: Tuple[str, ...]

    @staticmethod
    def tower_weight(head) -> torch.Tensor:
        """A weight of the shared classification tower (before the fork)."""
        raise NotImplementedError

    def test_loss_empty_gt(self):
        head = build(self.cfg)
        head.train()
        losses = head.loss(feats(self.ch), samples([0, 0]))
        for k in self.empty_positive:
            assert scalar(losses[k]) > 0, k
        for k in self.empty_zero:
            assert scalar(losses[k]) == 0, k
        # no positive: InfoNCE is a zero with a graph; the mined negatives
        # still teach the background entry through the auxiliary CE
        assert losses['loss_contrast'] == 0
        assert losses['loss_contrast'].requires_grad
        assert losses['loss_clip_ce'] > 0
        assert 'acc_clip' not in losses
        for k in ('loss_contrast', 'loss_clip_ce'):
            assert torch.isfinite(losses[k]), k

    def test_loss_with_gt_and_gradients(self):
        head = build(self.cfg)
        head.train()
        losses = head.loss(feats(self.ch), samples([3, 1]))
        for k in self.stock_losses + ('loss_contrast', 'loss_clip_ce'):
            assert scalar(losses[k]) > 0, k
        assert 0 <= losses['acc_clip'] <= 100
        total_loss(losses).backward()
        for conv in (head.proj[0], head.proj[2]):
            assert conv.weight.grad.abs().sum() > 0
        assert head.text_bank.embeddings.grad.abs().sum() > 0
        assert head.text_bank.bg_embedding.grad.abs().sum() > 0
        assert head.text_bank.log_scale.grad.abs().sum() > 0
        # the branch trains the shared classification tower
        assert self.tower_weight(head).grad.abs().sum() > 0

    def test_frozen_bank_gets_no_gradient(self):
        head = build(self.cfg,
                     text_bank=dict(learnable=False, learn_temperature=False))
        head.train()
        total_loss(head.loss(feats(self.ch), samples([2, 2]))).backward()
        bank = head.text_bank
        assert bank.embeddings.grad is None and bank.log_scale.grad is None
        for conv in (head.proj[0], head.proj[2]):
            assert conv.weight.grad.abs().sum() > 0

    @pytest.mark.parametrize('score_mode', ['det', 'clip', 'fuse'])
    def test_predict_every_score_mode(self, score_mode):
        head = build(self.cfg, score_mode=score_mode)
        head.eval()
        calls = []
        head.proj.register_forward_hook(lambda *a: calls.append(1))
        with torch.no_grad():
            outs = head(feats(self.ch))
            res = head.predict(feats(self.ch), samples([1, 1]), rescale=False)
        # det: exactly the stock outputs, and the branch never runs
        assert len(outs) == self.num_stock_outs + (score_mode != 'det')
        assert bool(calls) == (score_mode != 'det')
        assert len(res) == 2
        for r in res:
            n = len(r.bboxes)
            assert n > 0
            assert r.bboxes.shape == (n, 4) and r.scores.shape == (n, )
            assert r.labels.shape == (n, )
            assert ((r.scores >= 0) & (r.scores <= 1)).all()
            assert ((r.labels >= 0) & (r.labels < head.num_classes)).all()

    @pytest.mark.parametrize('score_mode', ['clip', 'fuse'])
    def test_sparse_fused_scoring_equals_dense(self, score_mode):
        """Embedding only the locations that can reach score_thr gives the
        fused scores of embedding every location, on the kept locations,
        and the same detections."""
        head = build(self.cfg, score_mode=score_mode)
        head.eval()
        x = feats(self.ch)
        with torch.no_grad():
            outs = head(x)
            cls_scores, cls_feats = outs[0], outs[-1]
            factors = outs[2] if self.num_stock_outs == 3 else None
            det = head.flatten_levels(cls_scores).sigmoid()
            bound = det.max(-1)[0]
            if factors is not None:
                bound = bound * head.flatten_levels(factors)[..., 0].sigmoid()
            # a threshold that keeps about a third of the locations
            thr = float(bound.flatten().quantile(0.67))
            calls = []
            hook = head.proj.register_forward_hook(
                lambda m, i, o: calls.append(i[0].shape))
            sparse = head.fuse_mlvl_scores(cls_scores, cls_feats, thr,
                                           factors)
            head.sparse_fuse = False
            dense = head.fuse_mlvl_scores(cls_scores, cls_feats, thr,
                                          factors)
            hook.remove()
            sp = head.flatten_levels(sparse).sigmoid()
            de = head.flatten_levels(dense).sigmoid()
            keep = bound >= thr
            assert 0 < keep.sum() < keep.numel()
            torch.testing.assert_close(sp[keep], de[keep])
            assert (sp[~keep] == 0).all()
            # the sparse pass embedded only the kept locations
            assert calls[0][2] == int(keep.sum())
            assert calls[1][2] * calls[1][0] == keep.numel()
            # and the post-process gives the same detections, at a threshold
            # that some fused scores pass (the bound is loose: a random
            # bank spreads p_clip over the classes)
            fused = de.max(-1)[0]
            if factors is not None:
                fused = fused * head.flatten_levels(factors)[..., 0].sigmoid()
            head.test_cfg.score_thr = float(fused.flatten().quantile(0.95))
            a = head.predict(x, samples([1, 1]))
            head.sparse_fuse = True
            b = head.predict(x, samples([1, 1]))
        assert sum(len(r.scores) for r in a) > 0
        for r, s in zip(a, b):
            torch.testing.assert_close(r.scores, s.scores)
            torch.testing.assert_close(r.bboxes, s.bboxes)
            assert torch.equal(r.labels, s.labels)
        # a threshold no location can reach: nothing is embedded
        calls.clear()
        hook = head.proj.register_forward_hook(lambda *a: calls.append(1))
        with torch.no_grad():
            none = head.fuse_mlvl_scores(cls_scores, cls_feats, 2.0, factors)
        hook.remove()
        assert not calls
        assert (head.flatten_levels(none).sigmoid() == 0).all()

    def test_objectness_power(self):
        """clip scores are softmax * (max_c p_det) ** g: g = 0 the branch's
        softmax alone; sparse scoring stays exact for g < 1 (its bound is
        m ** g, above m); a g outside [0, 1] is refused."""
        x = feats(self.ch)
        by_g = {}
        for g in (1.0, 0.5, 0.0):
            head = build(self.cfg, score_mode='clip', objectness_power=g)
            head.eval()
            with torch.no_grad():
                outs = head(x)
                cls_scores, cls_feats = outs[0], outs[-1]
                factors = outs[2] if self.num_stock_outs == 3 else None
                head.sparse_fuse = False
                dense = head.flatten_levels(head.fuse_mlvl_scores(
                    cls_scores, cls_feats, 0.0, factors)).sigmoid()
                m = head.flatten_levels(cls_scores).sigmoid().max(-1)[0]
                feat = torch.cat([f.flatten(2) for f in cls_feats], dim=2)
                emb = head.branch.embed(feat[..., None]).flatten(2)
                soft = head.branch.probs(
                    emb.transpose(1, 2).flatten(0, 1),
                    background=False).view_as(dense)
                torch.testing.assert_close(
                    dense, (soft * m[..., None]**g).clamp(1e-6, 1 - 1e-6),
                    rtol=1e-4, atol=1e-6)
                by_g[g] = dense
                if g == 0.5:
                    old, bound = m, m**g
                    if factors is not None:
                        f = head.flatten_levels(factors)[..., 0].sigmoid()
                        old, bound = old * f, bound * f
                    # a threshold between the bounds with m and m ** g for
                    # many locations: a bound of m would drop them
                    thr = float(bound.flatten().quantile(0.5))
                    assert ((old < thr) & (bound >= thr)).any()
                    head.sparse_fuse = True
                    sparse = head.flatten_levels(head.fuse_mlvl_scores(
                        cls_scores, cls_feats, thr, factors)).sigmoid()
                    keep = bound >= thr
                    torch.testing.assert_close(sparse[keep], dense[keep])
        assert not torch.allclose(by_g[1.0], by_g[0.0])
        for bad in (1.5, -0.1, True, '0.5'):
            with pytest.raises(ValueError, match='objectness_power'):
                build(self.cfg, objectness_power=bad)

    def test_det_mode_equals_stock_head(self):
        head = build(self.cfg, score_mode='det')
        stock = stock_twin(self.cfg, self.stock_type, head)
        head.eval()
        stock.eval()
        with torch.no_grad():
            a = head.predict(feats(self.ch), samples([1, 1]))
            b = stock.predict(feats(self.ch), samples([1, 1]))
        _assert_same_results(a, b)

    def test_fuse_differs_from_det_and_state_dict_round_trip(self):
        head = build(self.cfg, score_mode='fuse')
        head.eval()
        with torch.no_grad():
            fused = head.predict(feats(self.ch, batch=1), samples([1]))[0]
        torch.manual_seed(123)
        other = MODELS.build(head_cfg(self.cfg, score_mode='fuse'))
        other.load_state_dict(head.state_dict())
        other.eval()
        with torch.no_grad():
            again = other.predict(feats(self.ch, batch=1), samples([1]))[0]
        torch.testing.assert_close(fused.scores, again.scores)
        head.score_mode = 'det'
        with torch.no_grad():
            det = head.predict(feats(self.ch, batch=1), samples([1]))[0]
        assert not torch.allclose(det.scores[:20], fused.scores[:20])

    @pytest.mark.parametrize('kw,match', [
        (dict(num_classes=79), 'num_classes'),
        (dict(num_classes=12), 'num_classes'),
        (dict(score_mode='mean'), 'score_mode'),
        (dict(fuse_alpha=1.5), 'fuse_alpha'),
        (dict(neg_pos_ratio=-1), 'neg_pos_ratio'),
        (dict(loss_aux=dict(type='CrossEntropyLoss', loss_weight=-1.0)),
         '>= 0'),
        (dict(loss_contrast=dict(type='InfoNCELoss', loss_weight=-1.0)),
         '>= 0'),
        (dict(text_bank=dict(background=None)), 'background entry'),
    ])
    def test_bad_head_config(self, kw, match):
        with pytest.raises(ValueError, match=match):
            build(self.cfg, **kw)

    def test_score_mode_assignment_is_validated(self):
        assert_score_mode_validated(build(self.cfg))
