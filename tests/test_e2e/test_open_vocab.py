# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Hybrid detection + caption training (DetCLIPv2) end to end, and the
phrase text bank / caption loss pieces it rests on."""
import copy
import glob
import json
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.structures import InstanceData

import mmdet_clipjoint  # noqa: F401
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmdet.utils import register_all_modules
from mmdet_clipjoint.apis import set_vocabulary
from mmdet_clipjoint.benchmark.open_vocab import (OPEN_VOCAB_ARMS,
                                                  run_open_vocab_benchmark)
from mmdet_clipjoint.datasets import (SYNTHETIC_OPEN_VOCAB_CLASSES,
                                      SYNTHETIC_OPEN_VOCAB_UNSEEN)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
HYBRID = osp.join(ROOT, OPEN_VOCAB_ARMS['word-region'])

register_all_modules()


def _head(**kw):
    cfg = copy.deepcopy(Config.fromfile(HYBRID).model)
    head = cfg.bbox_head
    head.update(train_cfg=cfg.train_cfg, test_cfg=cfg.test_cfg, **kw)
    torch.manual_seed(0)
    h = MODELS.build(head)
    h.init_weights()
    return h


def _feats(B=2, size=64):
    torch.manual_seed(1)
    return tuple(torch.randn(B, 96, size // s, size // s)
                 for s in (8, 16, 32))


def _caption_samples(phrases):
    out = []
    for ps in phrases:
        s = DetDataSample(metainfo=dict(phrases=list(ps), img_shape=(64, 64),
                                        pad_shape=(64, 64)))
        s.gt_instances = InstanceData(bboxes=torch.zeros(0, 4),
                                      labels=torch.zeros(0).long())
        out.append(s)
    return out


def test_phrase_bank_embeds_class_names_from_words():
    head = _head()
    bank = head.text_bank
    assert bank.class_names == SYNTHETIC_OPEN_VOCAB_CLASSES
    table = bank.phrase_encoder
    assert sorted(table.words) == sorted(
        ['red', 'green', 'blue', 'circle', 'square', 'triangle'])
    w = F.normalize(table.weight, dim=-1)
    i = table.word_to_index
    want = F.normalize(w[i['red']] + w[i['square']], dim=-1)
    k = bank.class_names.index('red square')
    torch.testing.assert_close(bank.text_embeddings()[k], want)
    # a class no box names is a phrase of words that boxes do train
    assert 'red square' in SYNTHETIC_OPEN_VOCAB_UNSEEN
    assert bank.text_embeddings().shape == (10, 512)  # + background


def test_caption_loss_uses_topk_regions_and_reaches_words():
    head = _head(caption_topk=5)
    head.train()
    x = _feats()
    phrases = [['red square', 'blue circle'], ['green triangle']]
    losses = head.loss_by_captions(x, _caption_samples(phrases))
    loss = losses['loss_word_region']
    assert torch.isfinite(loss) and loss > 0
    # the same computation by hand from the public pieces
    with torch.no_grad():
        outs = head(x)
        scores = head.caption_region_scores(outs)
        idx = scores.topk(5, dim=1).indices
        feats = head.flatten_levels(outs[-1])
        regions = torch.stack([
            head.embed(feats[b, idx[b]].t()[None, :, :, None])[0, :, :, 0].t()
            for b in range(2)
        ])
        bank = head.text_bank
        pe = torch.zeros(2, 2, 512)
        pe[0] = bank.encode_phrases(phrases[0])
        pe[1, :1] = bank.encode_phrases(phrases[1])
        mask = torch.tensor([[True, True], [True, False]])
        want = head.loss_word_region(regions, None, pe, mask)
    torch.testing.assert_close(loss.detach(), want)
    loss.backward()
    grad = head.text_bank.phrase_encoder.weight.grad
    assert grad is not None and grad.abs().sum() > 0
    assert head.proj[0].weight.grad.abs().sum() > 0
    # the stock classifier gets no gradient from a caption batch
    assert all(c.weight.grad is None or c.weight.grad.abs().sum() == 0
               for c in head.rtm_cls)


def test_caption_batch_errors():
    head = _head(loss_word_region=None)
    with pytest.raises(ValueError, match='loss_word_region is None'):
        head.loss_by_captions(_feats(), _caption_samples([['red square']]))
    cfg = copy.deepcopy(Config.fromfile(HYBRID).model.bbox_head)
    cfg.text_bank = dict(type='ContrastiveTextBank', init_source='random',
                         class_names=list(SYNTHETIC_OPEN_VOCAB_CLASSES))
    with pytest.raises(ValueError, match='PhraseTextBank'):
        MODELS.build(cfg)
    bank = copy.deepcopy(Config.fromfile(HYBRID).model.bbox_head.text_bank)
    bank.class_names = ['red square', 'purple hexagon']
    bank.phrase_encoder['words'] = ['red', 'square']
    with pytest.raises(ValueError, match='purple'):
        MODELS.build(bank)
    model_cfg = copy.deepcopy(Config.fromfile(HYBRID).model)
    model_cfg.backbone.init_cfg = None
    model = MODELS.build(model_cfg)
    mixed = _caption_samples([['red square']]) + [DetDataSample(
        metainfo=dict(img_shape=(64, 64), pad_shape=(64, 64)))]
    with pytest.raises(ValueError, match='mixes caption samples'):
        model.loss(torch.randn(2, 3, 64, 64), mixed)


@pytest.fixture(scope='module')
def hybrid_run(tmp_path_factory):
    """20 iterations (10 detection + 10 caption batches) of the hybrid
    config on generated boxes + captions, through the benchmark's path."""
    out = str(tmp_path_factory.mktemp('ov'))
    runs = run_open_vocab_benchmark('smoke', out, arms=['word-region'],
                                    log=lambda *a: None)
    return out, runs


def test_hybrid_training_runs_both_batch_kinds(hybrid_run):
    out, runs = hybrid_run
    assert len(runs) == 1 and runs[0]['iters'] == 20
    s = runs[0]['summary']
    assert set(s['per_class']) == set(SYNTHETIC_OPEN_VOCAB_CLASSES)
    scalars = glob.glob(osp.join(out, 'work_dirs', 'word-region_seed0', '*',
                                 'vis_data', 'scalars.json'))
    assert scalars
    logged = set()
    with open(scalars[0]) as f:
        for line in f:
            logged |= set(json.loads(line))
    assert 'loss_word_region' in logged  # caption batches ran
    assert 'loss_contrast' in logged  # detection batches ran
    assert osp.isfile(osp.join(out, 'report.md'))


def test_hybrid_checkpoint_answers_set_vocabulary(hybrid_run):
    from mmdet.apis import inference_detector, init_detector
    out, _ = hybrid_run
    work = osp.join(out, 'work_dirs', 'word-region_seed0')
    ckpt = osp.join(work, 'iter_20.pth')
    config = glob.glob(osp.join(work, '*.py'))
    assert osp.isfile(ckpt) and config
    cfg = Config.fromfile(config[0])
    cfg.model.test_cfg.score_thr = 0.0
    model = init_detector(cfg, ckpt, device='cpu')
    bank = model.bbox_head.text_bank
    trained_words = bank.phrase_encoder.weight.detach().clone()
    names = ('blue square', 'green circle', 'red triangle')
    set_vocabulary(model, names, verbose=False)  # the model's own words
    idx = bank.phrase_encoder.word_to_index
    rows = F.normalize(trained_words, dim=-1)
    want = F.normalize(torch.stack([
        rows[idx[n.split()[0]]] + rows[idx[n.split()[1]]] for n in names
    ]), dim=-1)
    torch.testing.assert_close(bank.text_embeddings()[:3], want)
    # every val image: a 20-iteration model can leave one image without a
    # valid box (its distances still negative); some image must answer,
    # and every answer is a name of the new vocabulary
    preds = [inference_detector(model, img).pred_instances
             for img in sorted(glob.glob(osp.join(out, 'data', 'val',
                                                  '*.jpg')))]
    assert any(len(p) > 0 for p in preds)
    assert all(int(p.labels.max()) < 3 for p in preds if len(p))
    assert model.dataset_meta['classes'] == names
    with pytest.raises(ValueError, match='purple'):
        set_vocabulary(model, ['purple square'], verbose=False)


FRCNN_HYBRID = osp.join(
    ROOT, 'configs', 'clipjoint_open_vocab',
    'clipjoint-faster-rcnn_r50_fpn_word-region_1x_synthetic-ov.py')


def test_two_stage_caption_regions_are_the_best_proposals():
    """HybridFasterRCNN: a caption batch trains the words and the branch on
    the images' best RPN proposals; the RPN itself gets no loss."""
    cfg = copy.deepcopy(Config.fromfile(FRCNN_HYBRID).model)
    cfg.backbone.update(depth=18, init_cfg=None)
    cfg.neck.in_channels = [64, 128, 256, 512]
    cfg.roi_head.bbox_head.caption_topk = 4
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    model.train()
    head = model.roi_head.bbox_head
    seen = {}
    loss_fn = head.loss_word_region.forward

    def spy(regions, region_mask, phrases, phrase_mask):
        seen.update(regions=regions, region_mask=region_mask,
                    phrase_mask=phrase_mask)
        return loss_fn(regions, region_mask, phrases, phrase_mask)

    head.loss_word_region.forward = spy
    samples = _caption_samples([['red square', 'blue circle'],
                                ['green triangle']])
    for s in samples:
        s.set_metainfo(dict(img_shape=(128, 128), pad_shape=(128, 128),
                            scale_factor=(1.0, 1.0)))
    torch.manual_seed(1)
    losses = model.loss(torch.randn(2, 3, 128, 128), samples)
    assert set(losses) == {'loss_word_region'}
    assert torch.isfinite(losses['loss_word_region'])
    assert seen['regions'].shape == (2, 4, 512)
    assert seen['region_mask'].all()  # 4 proposals per image exist
    torch.testing.assert_close(seen['regions'].norm(dim=-1),
                               torch.ones(2, 4))
    assert seen['phrase_mask'].tolist() == [[True, True], [True, False]]
    losses['loss_word_region'].backward()
    assert head.text_bank.phrase_encoder.weight.grad.abs().sum() > 0
    assert head.proj[0].weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.rpn_head.parameters())
    assert head.fc_cls.weight.grad is None
