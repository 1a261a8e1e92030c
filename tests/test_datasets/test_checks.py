# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Bad annotation files get messages that name the file and the problem,
on every path the project controls (shrink_config -> benchmark / demo, the
stress wrappers)."""
import json
import os.path as osp
import shutil

import pytest
from mmengine.registry import init_default_scope

from mmdet.registry import DATASETS
from mmdet_clipjoint.datasets import check_coco_annotation_file
from mmdet_clipjoint.utils import shrink_config


def _copy(synthetic_coco, tmp_path):
    root = str(tmp_path / 'data')
    shutil.copytree(synthetic_coco['data_root'], root)
    return dict(synthetic_coco, data_root=root)


def _rewrite(data, split, content):
    path = osp.join(data['data_root'], data[f'{split}_ann_file'])
    with open(path, 'w') as f:
        f.write(content if isinstance(content, str) else json.dumps(content))
    return path


def _ann(data, split):
    with open(osp.join(data['data_root'], data[f'{split}_ann_file'])) as f:
        return json.load(f)


@pytest.mark.parametrize('case,match', [
    ('empty', 'is empty \\(0 bytes\\)'),
    ('not_json', 'is not valid JSON \\(Expecting'),
    ('no_images', 'lists no images'),
    ('no_boxes', 'none of its 8 images has a box'),
    ('not_coco', 'is not in COCO format'),
])
def test_bad_train_file_is_named(synthetic_coco, tmp_path, case, match):
    from mmengine.config import Config
    data = _copy(synthetic_coco, tmp_path)
    ann = _ann(data, 'train')
    content = dict(empty='', not_json='{"images": [',
                   no_images=dict(ann, images=[], annotations=[]),
                   no_boxes=dict(ann, annotations=[]),
                   not_coco=dict(images=ann['images']))[case]
    path = _rewrite(data, 'train', content)
    with pytest.raises(ValueError, match=match) as info:
        shrink_config(Config.fromfile(
            'configs/clipjoint_rtmdet/clipjoint-rtmdet_tiny_8xb32-300e_'
            'coco.py'), data, str(tmp_path / 'work'))
    assert path in str(info.value) and 'train annotation file' in \
        str(info.value)
    # the stress wrappers check what they wrap (training data)
    init_default_scope('mmdet')
    with pytest.raises(ValueError, match=match):
        DATASETS.build(dict(
            type='LongTailDataset', imbalance_ratio=10, dataset=dict(
                type='CocoDataset', data_root=data['data_root'],
                ann_file=data['train_ann_file'],
                metainfo=dict(classes=data['classes']), pipeline=[])))


def test_val_file_may_have_no_boxes_but_must_exist(synthetic_coco,
                                                   tmp_path):
    data = _copy(synthetic_coco, tmp_path)
    ann = _ann(data, 'val')
    path = _rewrite(data, 'val', dict(ann, annotations=[]))
    counts = check_coco_annotation_file(path, 'val')
    assert counts == dict(images=len(ann['images']), annotations=0,
                          images_with_boxes=0, degenerate_boxes=0)
    with pytest.raises(FileNotFoundError, match='val annotation file .* '
                       'does not exist'):
        check_coco_annotation_file(path + '.missing', 'val')
