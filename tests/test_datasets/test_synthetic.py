# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
import hashlib
import json
import math
import os.path as osp

import numpy as np
import pytest
from PIL import Image

from mmdet_clipjoint.datasets import (SYNTHETIC_CLASSES, SYNTHETIC_CLASSES_B,
                                      SYNTHETIC_COLORS, SYNTHETIC_CONFUSABLE,
                                      SYNTHETIC_CONFUSABLE_B, SYNTHETIC_SHAPES,
                                      SYNTHETIC_SOURCE_CLASSES,
                                      SYNTHETIC_VOCABULARIES,
                                      make_synthetic_dataset)
from mmdet_clipjoint.datasets import synthetic


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


def _sha1(path):
    with open(path, 'rb') as f:
        return hashlib.sha1(f.read()).hexdigest()


def test_benchmark_a_unchanged_by_the_new_vocabularies(tmp_path):
    """The annotations of benchmark A for a fixed seed are those of the
    generator before colours / shapes were added (digests recorded with
    that version), and the grey distractors keep A's four shapes (their
    choice draws from the same random stream)."""
    d = make_synthetic_dataset(str(tmp_path), 6, 2, (96, 96), seed=3)
    root = d['data_root']
    assert _sha1(osp.join(root, d['train_ann_file'])) == \
        'bbbe0a7defb4c0fddfc3fa1e4aaeb5496a643375'
    assert _sha1(osp.join(root, d['val_ann_file'])) == \
        '28827bc3a0c90f16db2e89cd114879034d386828'
    assert synthetic._DISTRACTOR_SHAPES == ('circle', 'square', 'triangle',
                                            'diamond')
    assert np.allclose(
        synthetic._polygon('diamond', 10, 20, 5, 0.3),
        [(11.477601033306698, 15.22331755437197),
         (12.866009467376818, 20.886560619984017),
         (8.522398966693302, 24.77668244562803),
         (7.133990532623182, 19.113439380015983)])


def test_vocabularies_are_valid_and_disjoint():
    a, b, src = (set(SYNTHETIC_CLASSES), set(SYNTHETIC_CLASSES_B),
                 set(SYNTHETIC_SOURCE_CLASSES))
    assert len(a) == len(SYNTHETIC_CLASSES) == 12
    assert len(b) == len(SYNTHETIC_CLASSES_B) == 12
    assert 15 <= len(src) == len(SYNTHETIC_SOURCE_CLASSES) <= 18
    assert not a & b and not a & src and not b & src
    # the source set shares no shape with either benchmark
    shape = lambda c: c.split(' ', 1)[1]  # noqa: E731
    assert not {shape(c) for c in src} & {shape(c) for c in a | b}
    for name in a | b | src:
        colour, sh = name.split(' ', 1)
        assert colour in SYNTHETIC_COLORS and sh in SYNTHETIC_SHAPES
    assert SYNTHETIC_VOCABULARIES == dict(
        A=SYNTHETIC_CLASSES, B=SYNTHETIC_CLASSES_B,
        source=SYNTHETIC_SOURCE_CLASSES)
    # B uses the new colours / the pentagon
    assert any(c.endswith('pentagon') for c in b)
    assert {'yellow', 'cyan', 'pink', 'brown'} <= {
        c.split(' ')[0] for c in b}
    for vocab, flips in ((a, SYNTHETIC_CONFUSABLE),
                         (b, SYNTHETIC_CONFUSABLE_B)):
        assert set(flips) == vocab
        assert all(v in vocab and v != k for k, v in flips.items())


def _area(pts):
    return 0.5 * abs(sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(
        pts, pts[1:] + pts[:1])))


def test_every_shape_is_a_distinct_polygon():
    areas = {}
    for shape in SYNTHETIC_SHAPES:
        pts = synthetic._polygon(shape, 50, 40, 10, 0.4)
        assert len(pts) >= 3
        radii = [math.hypot(x - 50, y - 40) for x, y in pts]
        assert max(radii) == pytest.approx(10, abs=1e-6)
        areas[shape] = _area(pts)
    # different outlines (a star is not a pentagon, a cross not a square)
    assert len({round(v, 3) for v in areas.values()}) == len(areas)
    assert areas['star'] < areas['pentagon'] < areas['hexagon'] < \
        areas['circle']
    assert areas['cross'] < areas['square']
    with pytest.raises(ValueError, match='unknown shape'):
        synthetic._polygon('cloud', 0, 0, 1, 0)


@pytest.mark.parametrize('vocab', ['B', 'source'])
def test_new_vocabularies_render(vocab, tmp_path):
    classes = SYNTHETIC_VOCABULARIES[vocab]
    d = make_synthetic_dataset(str(tmp_path), 24, 2, (96, 96),
                               classes=classes, seed=1)
    with open(osp.join(d['data_root'], d['train_ann_file'])) as f:
        coco = json.load(f)
    assert [c['name'] for c in coco['categories']] == list(classes)
    seen = {coco['categories'][a['category_id'] - 1]['name']
            for a in coco['annotations']}
    assert len(seen) >= len(classes) // 2
    for ann in coco['annotations']:
        x, y, w, h = ann['bbox']
        assert w >= 2 and h >= 2 and x >= 0 and y >= 0
        assert x + w <= 96 and y + h <= 96
    # every new class is drawn in its colour: one object alone, no
    # texture, no distractor; left of the box centre (never occluded)
    for k, name in enumerate(classes):
        img, anns = synthetic._render_image(
            np.random.default_rng(k), 96, 96, [name], (1, 1), (0.2, 0.45),
            0, texture_prob=0.0)
        x, y, w, h = anns[0]['bbox']
        pix = np.asarray(img)[int(y + h / 2), int(x + 0.4 * w)].astype(int)
        rgb = np.asarray(SYNTHETIC_COLORS[name.split(' ')[0]])
        assert np.abs(pix - rgb).max() <= 18, (name, pix, rgb)


def test_texture_options_keep_the_annotations(tmp_path):
    kw = dict(num_train=4, num_val=1, img_size=(64, 64), seed=2,
              classes=SYNTHETIC_SOURCE_CLASSES, texture_prob=1.0)
    runs = {t: make_synthetic_dataset(str(tmp_path / t), texture=t, **kw)
            for t in ('stripes', 'dots', 'none')}
    anns = {t: open(osp.join(d['data_root'], d['train_ann_file'])).read()
            for t, d in runs.items()}
    assert anns['stripes'] == anns['dots'] == anns['none']
    pix = {t: np.asarray(Image.open(osp.join(d['data_root'], 'train',
                                             '000000.jpg')), dtype=float)
           for t, d in runs.items()}
    # same layout, other marks: the images differ
    assert np.abs(pix['stripes'] - pix['dots']).mean() > 0.5
    assert np.abs(pix['stripes'] - pix['none']).mean() > 0.5
    assert np.abs(pix['dots'] - pix['none']).mean() > 0.5
    with pytest.raises(ValueError, match='texture'):
        make_synthetic_dataset(str(tmp_path / 'x'), 1, 1, texture='plaid')
    with pytest.raises(ValueError, match='repeat'):
        make_synthetic_dataset(str(tmp_path / 'y'), 1, 1,
                               classes=['red star', 'red star'])


def test_class_weights_make_a_long_tail(tmp_path):
    C = len(SYNTHETIC_CLASSES)
    weights = [50**(-r / (C - 1)) for r in range(C)]
    d = make_synthetic_dataset(str(tmp_path / 'lt'), 300, 0, (64, 64),
                               seed=4, class_weights=weights)
    with open(osp.join(d['data_root'], d['train_ann_file'])) as f:
        coco = json.load(f)
    counts = np.bincount([a['category_id'] - 1 for a in coco['annotations']],
                         minlength=C)
    # ~600 instances: head ~180, tail ~4
    assert counts[0] > 100 and counts[-1] < 15
    assert counts[:3].sum() > 5 * counts[-3:].sum()
    for bad in ([1.0] * (C - 1), [0.0] * C, [-1.0] + [1.0] * (C - 1)):
        with pytest.raises(ValueError, match='class_weights'):
            make_synthetic_dataset(str(tmp_path / 'x'), 1, 1,
                                   class_weights=bad)
