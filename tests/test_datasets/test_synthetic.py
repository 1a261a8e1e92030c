# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
import json
import os.path as osp

import numpy as np
import pytest
from PIL import Image

from mmdet_clipjoint.datasets import SYNTHETIC_CLASSES, make_synthetic_dataset


def test_coco_output_is_valid_and_loadable(synthetic_coco):
    from mmdet.datasets import CocoDataset
    root = synthetic_coco['data_root']
    with open(osp.join(root, synthetic_coco['train_ann_file'])) as f:
        coco = json.load(f)
    assert len(coco['images']) == 8
    assert [c['name'] for c in coco['categories']] == list(SYNTHETIC_CLASSES)
    assert len(coco['annotations']) >= 8
    for ann in coco['annotations']:
        x, y, w, h = ann['bbox']
        assert w > 0 and h > 0 and x >= 0 and y >= 0
        assert x + w <= 128 and y + h <= 128
    img = Image.open(osp.join(root, 'train', coco['images'][0]['file_name']))
    assert img.size == (128, 128)
    ds = CocoDataset(
        data_root=root, ann_file=synthetic_coco['train_ann_file'],
        data_prefix=dict(img='train/'),
        metainfo=dict(classes=SYNTHETIC_CLASSES), pipeline=[])
    assert len(ds) == 8
    assert ds.metainfo['classes'] == SYNTHETIC_CLASSES


def test_voc_output_is_loadable(synthetic_coco):
    from mmdet.datasets import VOCDataset
    ds = VOCDataset(
        data_root=synthetic_coco['data_root'] + '/',
        ann_file='VOCdevkit/VOC2007/ImageSets/Main/trainval.txt',
        data_prefix=dict(sub_data_root='VOCdevkit/VOC2007/'),
        metainfo=dict(classes=SYNTHETIC_CLASSES), pipeline=[])
    assert len(ds) == 8
    assert len(ds[0]['instances']) >= 1


def test_deterministic_by_seed(tmp_path):
    a = make_synthetic_dataset(str(tmp_path / 'a'), 3, 1, (64, 64), seed=5)
    b = make_synthetic_dataset(str(tmp_path / 'b'), 3, 1, (64, 64), seed=5)
    c = make_synthetic_dataset(str(tmp_path / 'c'), 3, 1, (64, 64), seed=6)
    read = lambda d: open(osp.join(d['data_root'], d['train_ann_file'])).read()  # noqa
    pix = lambda d: np.asarray(Image.open(osp.join(d['data_root'], 'train', '000000.jpg')))  # noqa
    assert read(a) == read(b) and (pix(a) == pix(b)).all()
    assert read(a) != read(c)


def test_bad_class_name_is_rejected(tmp_path):
    with pytest.raises(ValueError, match='colour'):
        make_synthetic_dataset(str(tmp_path), 1, 1, classes=['pink cloud'])
