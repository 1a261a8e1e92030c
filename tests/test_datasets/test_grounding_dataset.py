# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""ODVG grounding data: the semantic generator's grounding lines, their
parsing into boxes with phrases, phrase <-> class / box matching, and the
errors on malformed lines."""
import json
import os.path as osp

import numpy as np
import pytest
from PIL import Image

import mmdet_clipjoint  # noqa: F401
from mmdet.utils import register_all_modules
from mmdet_clipjoint.datasets import (LVIS_SYNONYMS, GroundingPhraseDataset,
                                      class_phrases, make_semantic_dataset,
                                      match_phrase, phrase_class_index,
                                      semantic_grounding_record)

CLASSES = ('car', 'bus', 'dog', 'donut', 'tv')
register_all_modules()
PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                    'gt_caption', 'phrases', 'phrase_labels'))
]


@pytest.fixture(scope='module')
def semantic(tmp_path_factory):
    """6 train images with ODVG lines (synonyms every time they exist), and
    the same set generated without ODVG."""
    root = str(tmp_path_factory.mktemp('gsem'))
    kw = dict(num_train=6, num_val=0, img_size=(64, 64), seed=3,
              objects_per_image=(2, 3), size_range=(0.3, 0.5))
    info = make_semantic_dataset(osp.join(root, 'odvg'), CLASSES, odvg=True,
                                 synonym_prob=1.0, **kw)
    plain = make_semantic_dataset(osp.join(root, 'plain'), CLASSES, **kw)
    return info, plain


def _lines(info):
    with open(osp.join(info['data_root'], info['train_odvg_file'])) as f:
        return [json.loads(line) for line in f]


def test_semantic_odvg_names_every_box(semantic):
    info, plain = semantic
    with open(osp.join(info['data_root'], info['train_ann_file'])) as f:
        coco = json.load(f)
    with open(osp.join(plain['data_root'], plain['train_ann_file'])) as f:
        assert json.load(f) == coco  # same boxes with or without ODVG
    img = osp.join('train', '000002.jpg')
    assert np.array_equal(
        np.asarray(Image.open(osp.join(info['data_root'], img))),
        np.asarray(Image.open(osp.join(plain['data_root'], img))))
    names = {c['id']: c['name'] for c in coco['categories']}
    lines = _lines(info)
    assert len(lines) == 6
    synonyms = 0
    for i, line in enumerate(lines):
        anns = [a for a in coco['annotations'] if a['image_id'] == i + 1]
        regions = line['grounding']['regions']
        caption = line['grounding']['caption']
        assert line['filename'] == f'{i:06d}.jpg'
        assert (line['width'], line['height']) == (64, 64)
        assert len(regions) == len(anns) >= 1
        for ann, region in zip(anns, regions):
            x, y, w, h = ann['bbox']
            assert region['bbox'] == [x, y, x + w, y + h]
            cls = names[ann['category_id']]
            assert region['phrase'] in class_phrases(cls)
            # synonym_prob=1: a class with synonyms is never named as such
            assert (region['phrase'] != cls) == bool(LVIS_SYNONYMS.get(cls))
            synonyms += region['phrase'] != cls
            (s, e), = region['tokens_positive']
            assert caption[s:e] == region['phrase']
    assert synonyms > 0
    with open(osp.join(info['data_root'], info['train_caption_file'])) as f:
        captions = json.load(f)
    assert [c['caption'] for c in captions] == [
        line['grounding']['caption'] for line in lines]


def test_dataset_links_each_box_to_its_phrase_and_class(semantic):
    info, _ = semantic
    ds = GroundingPhraseDataset(
        data_root=info['data_root'], ann_file=info['train_odvg_file'],
        data_prefix=dict(img='train/'), metainfo=dict(classes=CLASSES),
        pipeline=PIPELINE)
    assert len(ds) == 6
    with open(osp.join(info['data_root'], info['train_ann_file'])) as f:
        coco = json.load(f)
    names = {c['id']: c['name'] for c in coco['categories']}
    for i in range(len(ds)):
        data = ds.get_data_info(i)
        anns = [a for a in coco['annotations'] if a['image_id'] == i + 1]
        assert len(data['instances']) == len(anns)
        for inst, ann in zip(data['instances'], anns):
            phrase = data['phrases'][inst['bbox_label']]
            # the phrase of this box names the box's own class
            assert CLASSES[data['phrase_labels'][inst['bbox_label']]] == \
                names[ann['category_id']]
            assert phrase in class_phrases(names[ann['category_id']])
            x, y, w, h = ann['bbox']
            assert inst['bbox'] == [x, y, x + w, y + h]
    sample = ds[0]['data_samples']
    meta = sample.metainfo
    labels = sample.gt_instances.labels.tolist()
    assert set(meta) >= {'phrases', 'phrase_labels', 'gt_caption'}
    assert labels and max(labels) < len(meta['phrases'])
    assert all(meta['phrase_labels'][k] >= 0 for k in labels)


def test_match_phrase_rules():
    index = phrase_class_index(['car', 'bus', 'chicken_(animal)', 'tv'])
    assert match_phrase('an Automobile', index) == 0
    assert match_phrase('cars', index) == 0  # plural
    assert match_phrase('the motorbus', index) == 1
    assert match_phrase('chicken', index) == 2  # LVIS qualifier dropped
    assert match_phrase('television set', index) == 3
    assert match_phrase('truck', index) == -1
    plain = phrase_class_index(['car', 'bus'], class_aliases=None)
    assert match_phrase('automobile', plain) == -1
    # an alias of two classes names neither; a class name beats an alias
    amb = phrase_class_index(['cup', 'mug', 'glass'],
                             {'cup': ['beaker', 'glass'], 'mug': ['beaker']})
    assert match_phrase('beaker', amb) == -1
    assert match_phrase('glass', amb) == 2
    with pytest.raises(ValueError, match='class_aliases'):
        phrase_class_index(['car'], class_aliases='wordnet')


def _write(tmp_path, lines, name='ann.jsonl'):
    path = tmp_path / name
    path.write_text(''.join(
        (line if isinstance(line, str) else json.dumps(line)) + '\n'
        for line in lines))
    return str(path)


def _load(tmp_path, lines, **kw):
    return GroundingPhraseDataset(
        ann_file=_write(tmp_path, lines), metainfo=dict(classes=CLASSES),
        pipeline=[], **kw)


GOOD = dict(filename='a.jpg', height=50, width=60,
            grounding=dict(caption='a purple hexagon and a dog', regions=[
                dict(bbox=[1, 2, 20, 30], phrase='purple hexagon',
                     tokens_positive=[[2, 16]]),
                dict(bbox=[[30, 5, 59, 49], [10, 10, 20, 20]], phrase='dog',
                     tokens_positive=[[23, 26]])]))


def test_multi_box_regions_and_unknown_phrases(tmp_path):
    info = _load(tmp_path, [GOOD]).get_data_info(0)
    assert info['phrases'] == ['purple hexagon', 'dog']
    assert info['phrase_labels'] == [-1, CLASSES.index('dog')]
    assert [i['bbox_label'] for i in info['instances']] == [0, 1, 1]
    assert info['tokens_positive'] == [[[2, 16]], [[23, 26]]]
    assert (info['height'], info['width']) == (50, 60)


def test_detection_records_become_class_name_phrases(tmp_path):
    line = dict(filename='b.jpg', height=40, width=40, detection=dict(
        instances=[dict(bbox=[0, 0, 10, 10], label=2, category='dog'),
                   dict(bbox=[5, 5, 30, 30], label=3),
                   dict(bbox=[1, 1, 9, 9], label=2)]))
    info = _load(tmp_path, [line]).get_data_info(0)
    assert info['phrases'] == ['dog', 'donut']
    assert info['phrase_labels'] == [2, 3]
    assert [i['bbox_label'] for i in info['instances']] == [0, 1, 0]
    assert info['gt_caption'] == 'dog. donut.'
    bad = dict(line, detection=dict(
        instances=[dict(bbox=[0, 0, 10, 10], label=2, category='cat')]))
    with pytest.raises(ValueError, match='category'):
        _load(tmp_path, [bad])


def _region(**kw):
    return dict(GOOD, grounding=dict(GOOD['grounding'],
                                     regions=[dict(GOOD['grounding']
                                                   ['regions'][0], **kw)]))


@pytest.mark.parametrize('line, message', [
    ('{"filename": "x.jpg"', 'Expecting'),
    ({k: v for k, v in GOOD.items() if k != 'height'}, 'missing "height"'),
    ({k: v for k, v in GOOD.items() if k != 'grounding'},
     'neither "grounding" nor "detection"'),
    (dict(GOOD, grounding=dict(regions=[])), '"caption"'),
    (dict(GOOD, grounding=dict(caption='x', regions=[dict(phrase='dog')])),
     'needs "bbox" and "phrase"'),
    (dict(GOOD, grounding=dict(caption='x', regions=[dict(bbox=[1, 1, 5, 5])
                                                     ])),
     'needs "bbox" and "phrase"'),
    (_region(phrase=''), 'non-empty string'),
    (_region(bbox=[1, 2, 3]), '4 finite numbers'),
    (_region(bbox=[20, 2, 10, 30]), 'is empty'),
    (_region(bbox=[1, 2, 70, 30]), 'outside the 60x50 image'),
    (_region(tokens_positive=[[20, 99]]), 'not inside the caption'),
    (dict(GOOD, width=0), 'positive integers'),
    (dict(filename='b.jpg', height=40, width=40,
          detection=dict(instances=[dict(bbox=[0, 0, 5, 5], label=9)])),
     'not a class index'),
])
def test_malformed_lines_name_file_line_and_problem(tmp_path, line, message):
    with pytest.raises(ValueError, match='line 2') as err:
        _load(tmp_path, [GOOD, line])
    assert message in str(err.value)
    assert 'ann.jsonl' in str(err.value)


def test_small_overshoot_is_clipped_and_filters(tmp_path):
    line = _region(bbox=[-0.5, 2, 60.8, 30])
    empty = dict(GOOD, grounding=dict(caption='nothing', regions=[]))
    ds = _load(tmp_path, [line, empty],
               filter_cfg=dict(filter_empty_gt=True))
    assert len(ds) == 1
    assert ds.get_data_info(0)['instances'][0]['bbox'] == [0, 2, 60, 30]
    assert len(_load(tmp_path, [line, empty])) == 2


def test_grounding_record_spans():
    rng = np.random.default_rng(0)
    rec = semantic_grounding_record(rng, 'x.jpg', 10, 10, ['apple', 'car'],
                                    [[0, 0, 2, 2], [3, 3, 4, 4]],
                                    synonym_prob=0.0)
    g = rec['grounding']
    assert g['caption'] == 'a photo of an apple and a car.'
    assert [r['bbox'] for r in g['regions']] == [[0, 0, 2, 2], [3, 3, 7, 7]]
    for r in g['regions']:
        (s, e), = r['tokens_positive']
        assert g['caption'][s:e] == r['phrase']
    with pytest.raises(ValueError, match='2 names for 1 boxes'):
        semantic_grounding_record(rng, 'x.jpg', 10, 10, ['apple', 'car'],
                                  [[0, 0, 2, 2]])
