# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Degenerate data does not break training: images without objects, batches
without a positive sample, all ground truth ignored (iscrowd=1), tiny and
huge boxes. Real Runner runs on a generated dataset whose four batches are
each one of these cases; every logged loss stays finite, the weights stay
finite and training reaches its last iteration."""
import os.path as osp

import pytest
import torch
from mmengine.runner import Runner

from .common import (ROOT, Recorder, assert_all_finite, copy_dataset,
                     drop_validation, dump_json, load_json, model_of,
                     slim_clipjoint_cfg)
from ..helpers import small_cfg

RTMDET_CFG = ('configs/clipjoint_rtmdet/'
              'clipjoint-rtmdet_tiny_8xb32-300e_coco.py')
YOLOX_CFG = 'configs/clipjoint_yolox/clipjoint-yolox_s_8xb8-300e_coco.py'

#: batch (two images each, in dataset order) -> case
CASES = ('no_objects', 'all_crowd', 'tiny_boxes', 'huge_boxes')


def _ann(img_id, cat, box, crowd=0):
    x, y, w, h = box
    return dict(image_id=img_id, category_id=cat, bbox=[x, y, w, h],
                area=float(w * h), iscrowd=crowd)


def make_degenerate_dataset(data, dst):
    """8 training images: 2 per case of :data:`CASES`, in that order."""
    data = copy_dataset(data, dst)
    coco = load_json(data, 'train')
    images = sorted(coco['images'], key=lambda im: im['id'])[:8]
    cats = [c['id'] for c in coco['categories']]
    old = {}
    for a in coco['annotations']:
        old.setdefault(a['image_id'], []).append(a)
    anns = []
    for i, im in enumerate(images):
        case, w, h = CASES[i // 2], im['width'], im['height']
        if case == 'all_crowd':
            anns += [dict(a, iscrowd=1) for a in old.get(im['id'], [])] or [
                _ann(im['id'], cats[0], (10, 10, 40, 40), crowd=1)
            ]
        elif case == 'tiny_boxes':  # 1 px: the smallest COCO keeps
            anns += [_ann(im['id'], cats[1], (10.0, 12.0, 1.0, 1.0)),
                     _ann(im['id'], cats[2], (w - 3.5, h / 2, 1.0, 1.2))]
        elif case == 'huge_boxes':  # the whole image, and beyond it
            anns += [_ann(im['id'], cats[3], (0, 0, w, h)),
                     _ann(im['id'], cats[4], (-40, -25, w + 90, h + 60))]
    for k, a in enumerate(anns):
        a['id'] = k + 1
    coco.update(images=images, annotations=anns)
    dump_json(data, 'train', coco)
    return data


def _simple_pipeline(img_size):
    """No mosaic / crop / filtering: each batch keeps its designed images."""
    return [
        dict(type='LoadImageFromFile', backend_args=None),
        dict(type='LoadAnnotations', with_bbox=True),
        dict(type='Resize', scale=(img_size, img_size), keep_ratio=True),
        dict(type='RandomFlip', prob=0.5),
        dict(type='Pad', size=(img_size, img_size),
             pad_val=dict(img=(114, 114, 114))),
        dict(type='PackDetInputs')
    ]


def _one_stage_cfg(tmp_path, data, rel_path):
    cfg = small_cfg(tmp_path, osp.join(ROOT, rel_path), data, img_size=128,
                    max_iters=len(CASES))
    cfg.model.bbox_head.text_bank.update(init_source='random',
                                         cache_dir=None)
    ds = cfg.train_dataloader.dataset
    if ds.type == 'MultiImageMixDataset':  # YOLOX: drop mosaic / mixup
        ds = cfg.train_dataloader.dataset = ds.dataset
    ds.pipeline = _simple_pipeline(128)
    return cfg


def _slim_yolox(cfg):
    """YOLOX-s at half its width (CPU time); the head is unchanged."""
    m = cfg.model
    m.backbone.widen_factor = 0.25
    m.neck.update(in_channels=[64, 128, 256], out_channels=64)
    m.bbox_head.update(in_channels=64, feat_channels=64)
    return cfg


#: the loss that learns the background when a batch has no object
BACKGROUND_LOSS = {'faster-rcnn': 'loss_cls', 'rtmdet': 'loss_cls',
                   'yolox': 'loss_obj'}

DETECTORS = {
    'faster-rcnn': lambda tmp, data: slim_clipjoint_cfg(
        tmp, data, max_iters=len(CASES)),
    'rtmdet': lambda tmp, data: _one_stage_cfg(tmp, data, RTMDET_CFG),
    'yolox': lambda tmp, data: _slim_yolox(
        _one_stage_cfg(tmp, data, YOLOX_CFG)),
}


@pytest.fixture(scope='module')
def degenerate_data(synthetic_coco, tmp_path_factory):
    return make_degenerate_dataset(
        synthetic_coco, str(tmp_path_factory.mktemp('degenerate') / 'data'))


@pytest.mark.parametrize('detector', list(DETECTORS))
def test_degenerate_batches_train_with_finite_losses(detector,
                                                     degenerate_data,
                                                     tmp_path):
    cfg = drop_validation(DETECTORS[detector](tmp_path, degenerate_data))
    cfg.train_dataloader.sampler = dict(type='DefaultSampler', shuffle=False)
    cfg.train_dataloader.batch_size = 2
    runner = Runner.from_cfg(cfg)
    rec = Recorder()
    runner.register_hook(rec)
    runner.train()

    assert runner.iter == len(CASES)
    names = [[n for n, _ in b] for b in rec.batches]
    assert names == [['000000.jpg', '000001.jpg'], ['000002.jpg',
                                                    '000003.jpg'],
                     ['000004.jpg', '000005.jpg'],
                     ['000006.jpg', '000007.jpg']]
    # no_objects and all_crowd batches: no ground truth reaches the head
    assert rec.num_gts[:2] == [[0, 0], [0, 0]]
    assert all(n > 0 for b in rec.num_gts[2:] for n in b)
    assert_all_finite(rec.losses)
    for it in rec.losses[:2]:  # no positive sample in the batch
        assert it['loss_contrast'] == 0.0
        assert it['loss_bbox'] == 0.0
        assert it[BACKGROUND_LOSS[detector]] > 0.0  # background is learned
    # huge boxes always get positive samples; 1-px boxes may get none from
    # a one-stage assigner (no prior centre inside them) -- finite either way
    assert rec.losses[3]['loss_contrast'] > 0.0
    for name, p in model_of(runner).named_parameters():
        assert torch.isfinite(p).all(), name
