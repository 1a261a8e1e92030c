# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Grounding batches in the hybrid detectors: the box losses on the boxes
whose phrase names a class, the word-region loss on every phrase's known
region, and a 20-iteration run mixing detection, grounding and caption
batches."""
import copy
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner
from mmengine.structures import InstanceData

import mmdet_clipjoint  # noqa: F401
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmdet.utils import register_all_modules
from mmdet_clipjoint.datasets import make_semantic_dataset
from mmdet_clipjoint.models.utils import sample_kind

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))
THREE_WAY = osp.join(
    ROOT, 'configs', 'clipjoint_grounding',
    'clipjoint-rtmdet_tiny_word-region-grounding_8xb8-30e_semantic.py')
FRCNN_HYBRID = osp.join(
    ROOT, 'configs', 'clipjoint_open_vocab',
    'clipjoint-faster-rcnn_r50_fpn_word-region_1x_synthetic-ov.py')

register_all_modules()


def _grounding_samples(size=64):
    """Image 0: "automobile" (class car) and "purple hexagon" (no class, no
    known word); image 1: "dog" twice."""
    specs = [
        (['automobile', 'purple hexagon'], [0, -1],
         [[4., 4., 40., 30.], [30., 34., 60., 60.]], [0, 1]),
        (['dog'], [5], [[10., 8., 50., 40.], [2., 44., 20., 62.]], [0, 0]),
    ]
    out = []
    for phrases, phrase_labels, boxes, labels in specs:
        s = DetDataSample(metainfo=dict(
            phrases=phrases, phrase_labels=phrase_labels,
            img_shape=(size, size), pad_shape=(size, size),
            batch_input_shape=(size, size), scale_factor=(1., 1.)))
        s.gt_instances = InstanceData(bboxes=torch.tensor(boxes),
                                      labels=torch.tensor(labels))
        out.append(s)
    return out


def _built(cfg):
    """The model of ``cfg`` (no pre-trained backbone), initialised, in
    training mode."""
    cfg.backbone.init_cfg = None
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    return model.train()


def _one_stage_model():
    return _built(copy.deepcopy(Config.fromfile(THREE_WAY).model))


def _spy(loss_module, seen):
    grounded = loss_module.grounded

    def spy(regions, targets, phrases):
        seen.update(regions=regions, targets=targets, phrases=phrases)
        return grounded(regions, targets, phrases)

    loss_module.grounded = spy


def test_sample_kinds():
    g = _grounding_samples()[0]
    assert sample_kind(g) == 'grounding'
    assert sample_kind(DetDataSample(metainfo=dict(phrases=['x']))) == \
        'caption'
    assert sample_kind(DetDataSample()) == 'detection'


def test_one_stage_grounding_batch():
    model = _one_stage_model()
    head = model.bbox_head
    seen, targets_seen = {}, []
    _spy(head.loss_word_region, seen)
    stock = head.loss_by_feat

    def spy_feat(*args):
        targets_seen.append(args[-3:])  # gt, metas, ignored
        return stock(*args)

    head.loss_by_feat = spy_feat
    samples = _grounding_samples()
    losses = model.loss(torch.randn(2, 3, 64, 64), samples)
    assert {'loss_cls', 'loss_bbox', 'loss_contrast',
            'loss_grounding'} <= set(losses)
    for k, v in losses.items():
        if k.startswith('loss'):
            v = sum(v) if isinstance(v, (list, tuple)) else v
            assert torch.isfinite(v), k
    # box losses: the class of each phrase; no class -> ignored
    gt, _, ignored = targets_seen[0]
    assert gt[0].labels.tolist() == [0] and gt[1].labels.tolist() == [5, 5]
    assert ignored[0].bboxes.tolist() == [[30., 34., 60., 60.]]
    assert samples[0].gt_instances.labels.tolist() == [0, 1]  # untouched
    # the word-region loss: one known region per box; its phrase's row
    names = ['automobile', 'dog']  # "purple hexagon" has no known word
    assert seen['regions'].shape == (4, 512)
    assert seen['targets'].tolist() == [0, -1, 1, 1]
    torch.testing.assert_close(
        seen['phrases'], head.text_bank.encode_phrases(names))
    torch.testing.assert_close(seen['regions'].norm(dim=-1), torch.ones(4))
    losses['loss_grounding'].backward()
    words = head.text_bank.phrase_encoder
    grad = words.weight.grad
    idx = words.word_to_index
    assert grad[idx['automobile']].abs().sum() > 0
    assert grad[idx['cat']].abs().sum() == 0  # not in the batch
    assert head.proj[0].weight.grad.abs().sum() > 0
    # the stock classifier is not trained by it; the trunk only within
    # the branch's gradient bound (max_grad_share x the classifier's)
    assert all(c.weight.grad is None or c.weight.grad.abs().sum() == 0
               for c in head.rtm_cls)


def test_one_stage_regions_are_the_assigned_positives():
    """A box's region is the mean embedding of its assigned positive
    locations (recorded SamplingResult); without positives, its centre."""
    model = _one_stage_model()
    head = model.bbox_head
    seen = {}
    _spy(head.loss_word_region, seen)
    records = []
    sink = head._get_targets_single

    def spy_targets(*args, **kwargs):
        out = sink(*args, **kwargs)
        records.append(out)
        return out

    head._get_targets_single = spy_targets
    samples = _grounding_samples()
    x = model.extract_feat(torch.randn(2, 3, 64, 64))
    head.loss_by_grounding(x, samples)
    with torch.no_grad():
        feats = head.flatten_levels(head(x)[-1])  # (B, N, Cf)
        sr = records[0][-1]  # image 0: RTMDet's SamplingResult
        pos = sr.pos_inds[sr.pos_assigned_gt_inds == 0]
        assert len(pos) > 0
        emb = head.branch.embed_rows(feats[0, pos])
        want = torch.nn.functional.normalize(emb.mean(0), dim=0)
        torch.testing.assert_close(seen['regions'][0], want)
        # the ignored box: its centre (45, 47) on the level where it spans
        # ~5 strides (sqrt(30 * 26) / 8 ~ 3.5 -> stride 8, an 8x8 grid)
        centre = head.branch.embed_rows(feats[0, 5 * 8 + 5][None])[0]
        torch.testing.assert_close(seen['regions'][1], centre)


@pytest.mark.parametrize('folder, name', [
    ('clipjoint_yolox', 'clipjoint-yolox_s_8xb8-300e_coco.py'),
    ('clipjoint_yolo11', 'clipjoint-yolo11_n_8xb16-600e_coco.py'),
])
def test_hosts_without_sampling_results_use_box_centres(folder, name):
    """YOLOX / YOLO11 record no SamplingResult: every box is embedded at
    its centre on the level where it spans ~5 strides."""
    model = Config.fromfile(osp.join(ROOT, 'configs', folder, name)).model
    cfg = copy.deepcopy(model.bbox_head)
    bank = Config.fromfile(THREE_WAY).model.bbox_head
    cfg.update(train_cfg=model.train_cfg, test_cfg=model.test_cfg,
               num_classes=len(bank.text_bank.class_names),
               text_bank=bank.text_bank,
               loss_word_region=bank.loss_word_region)
    torch.manual_seed(0)
    head = MODELS.build(cfg)
    head.init_weights()
    head.train()
    seen = {}
    _spy(head.loss_word_region, seen)
    ch = cfg.in_channels
    chs = ch if isinstance(ch, (list, tuple)) else [ch] * 3
    x = tuple(torch.randn(2, c, 64 // s, 64 // s)
              for c, s in zip(chs, (8, 16, 32)))
    losses = head.loss_by_grounding(x, _grounding_samples())
    assert torch.isfinite(losses['loss_grounding'])
    assert 'loss_contrast' in losses and 'loss_bbox' in losses
    with torch.no_grad():
        feats = head.flatten_levels(head(x)[-1])
        # box 0 (4, 4, 40, 30): ~31 px -> stride 8, centre (22, 17) ->
        # row 2, column 2 of the 8 x 8 grid
        want = head.branch.embed_rows(feats[0, 2 * 8 + 2][None])[0]
    torch.testing.assert_close(seen['regions'][0], want)


def test_two_stage_grounding_batch():
    cfg = copy.deepcopy(Config.fromfile(FRCNN_HYBRID).model)
    cfg.backbone.depth = 18  # ResNet-18 widths
    cfg.neck.in_channels = [64, 128, 256, 512]
    model = _built(cfg)
    head = model.roi_head.bbox_head
    seen = {}
    _spy(head.loss_word_region, seen)
    # the colour x shape classes: "red square" is class 1
    samples = _grounding_samples(size=128)
    samples[0].set_metainfo(dict(phrases=['red square', 'purple hexagon']))
    samples[1].set_metainfo(dict(phrases=['blue circle'],
                                 phrase_labels=[6]))
    losses = model.loss(torch.randn(2, 3, 128, 128), samples)
    assert {'loss_rpn_cls', 'loss_cls', 'loss_bbox', 'loss_contrast',
            'loss_grounding'} <= set(losses)
    assert torch.isfinite(losses['loss_grounding'])
    # every box is its own RoI; "purple hexagon" has no known word
    assert seen['regions'].shape == (4, 512)
    assert seen['targets'].tolist() == [0, -1, 1, 1]
    losses['loss_grounding'].backward()
    assert head.proj[0].weight.grad.abs().sum() > 0
    assert head.fc_cls.weight.grad is None  # only the branch's rows


class _Record(Hook):
    """Keeps the first parameters and every iteration's logged losses."""

    def __init__(self):
        self.outputs, self.start = [], {}

    def before_train(self, runner):
        bank = runner.model.bbox_head.text_bank
        self.start = dict(
            words=bank.phrase_encoder.weight.detach().clone(),
            proj=runner.model.bbox_head.proj[0].weight.detach().clone())

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        kinds = {sample_kind(s) for s in data_batch['data_samples']}
        self.outputs.append((kinds, {k: float(v)
                                     for k, v in outputs.items()}))


@pytest.fixture(scope='module')
def three_way_run(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('three_way'))
    classes = Config.fromfile(THREE_WAY).classes
    data = make_semantic_dataset(osp.join(root, 'data'), classes,
                                 num_train=8, num_val=0, img_size=(64, 64),
                                 seed=0, odvg=True, synonym_prob=0.7)
    cfg = Config.fromfile(THREE_WAY)
    cfg.model.backbone.init_cfg = None
    train = cfg.train_dataloader
    train.update(batch_size=[2, 2, 2], num_workers=0,
                 persistent_workers=False)
    for ds in train.dataset.datasets:
        ds.data_root = data['data_root'] + '/'
        for t in ds.pipeline:
            if t['type'] in ('Resize', 'Pad'):
                t['scale' if t['type'] == 'Resize' else 'size'] = (64, 64)
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=20,
                         val_interval=1000)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=1000,
                                        by_epoch=False)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1000)
    # the runner built from its parts, not from the config: the config's
    # pretty-printing (yapf) alone would cost more than the training here
    runner = Runner(
        model=cfg.model, work_dir=osp.join(root, 'work'),
        train_dataloader=train, optim_wrapper=cfg.optim_wrapper,
        train_cfg=cfg.train_cfg, param_scheduler=None,
        default_hooks=cfg.default_hooks, custom_hooks=cfg.custom_hooks,
        env_cfg=dict(cudnn_benchmark=False,
                     mp_cfg=dict(mp_start_method='fork',
                                 opencv_num_threads=0),
                     dist_cfg=dict(backend='gloo')),
        randomness=dict(seed=0), log_level='WARNING', default_scope='mmdet')
    record = _Record()
    runner.register_hook(record)
    runner.train()
    return runner, record


def test_three_way_hybrid_run(three_way_run):
    runner, record = three_way_run
    assert len(record.outputs) == 20
    by_kind = {}
    for kinds, out in record.outputs:
        assert len(kinds) == 1  # one dataset per batch
        by_kind.setdefault(kinds.pop(), []).append(out)
    assert set(by_kind) == {'detection', 'grounding', 'caption'}
    for out in by_kind['grounding']:
        assert 'loss_cls' in out and 'loss_contrast' in out
        assert torch.isfinite(torch.tensor(out['loss_grounding']))
    assert max(o['loss_grounding'] for o in by_kind['grounding']) > 0
    assert all('loss_grounding' not in o for o in by_kind['detection'])
    assert all(set(o) == {'loss', 'loss_word_region'}
               for o in by_kind['caption'])
    head = runner.model.bbox_head
    words = head.text_bank.phrase_encoder
    moved = (words.weight.detach() - record.start['words']).abs().sum(1)
    idx = words.word_to_index
    # synonyms are words no box label carries: only the word-region
    # losses (grounding and caption batches) move them
    assert moved[idx['automobile']] > 0 or moved[idx['bike']] > 0
    assert (head.proj[0].weight.detach() -
            record.start['proj']).abs().sum() > 0
