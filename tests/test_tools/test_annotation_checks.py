# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""A user's COCO file is checked on every run of a ClipJoint config, before
the first iteration: ``tools/train.py`` and ``mim train`` (mmdet's own
script) refuse unusable files with a message naming the file and the first
offending record, and warn about zero-size boxes; the same checks as a
command line (``tools/misc/check_annotations.py``)."""
import json
import os.path as osp
import shutil
import sys

import pytest

from ..helpers import load_script, small_cfg
from .conftest import ROOT, bin_path, run_cmd

RTMDET_CFG = osp.join(ROOT, 'configs', 'clipjoint_rtmdet',
                      'clipjoint-rtmdet_tiny_8xb32-300e_coco.py')


@pytest.fixture()
def user_run(synthetic_coco, tmp_path):
    """A copy of the data and a 1-iteration ClipJoint RTMDet config on it
    (written while the files are good); the test then breaks a file."""
    root = str(tmp_path / 'data')
    shutil.copytree(synthetic_coco['data_root'], root)
    data = dict(synthetic_coco, data_root=root)
    cfg = small_cfg(tmp_path / 'cfg', RTMDET_CFG, data, max_iters=1,
                    img_size=64, batch_size=2)
    cfg.model.bbox_head.text_bank.update(init_source='random',
                                         cache_dir=None)
    config = str(tmp_path / 'user_config.py')
    cfg.dump(config)

    def ann_path(split):
        return osp.join(root, data[f'{split}_ann_file'])

    def load(split):
        with open(ann_path(split)) as f:
            return json.load(f)

    def save(split, ann):
        with open(ann_path(split), 'w') as f:
            json.dump(ann, f)
        return ann_path(split)

    return dict(config=config, work_dir=str(tmp_path / 'work'),
                load=load, save=save)


def _train(run, tool=None):
    cmd = tool or [sys.executable, 'tools/train.py']
    return run_cmd(cmd + [run['config'], '--work-dir', run['work_dir']])


def _no_images(ann):
    return dict(ann, images=[], annotations=[])


def _no_boxes(ann):
    return dict(ann, annotations=[])


def _unknown_category(ann):
    ann['annotations'][1]['category_id'] = 999
    return ann


def _duplicate_image_id(ann):
    ann['images'][2]['id'] = ann['images'][0]['id']
    return ann


@pytest.mark.parametrize('split,breaker,message', [
    ('train', _no_images, 'lists no images'),
    ('train', _no_boxes, 'none of its 8 images has a box'),
    ('train', _unknown_category, 'has category_id 999, which "categories" '
     'does not list'),
    ('train', _duplicate_image_id, 'appears more than once in "images"'),
    ('val', _unknown_category, 'has category_id 999, which "categories" '
     'does not list'),
])
def test_train_refuses_a_bad_file(user_run, split, breaker, message):
    ann = user_run['load'](split)
    path = user_run['save'](split, breaker(ann))
    rc, log = _train(user_run)
    assert rc != 0
    assert f'{split} annotation file {path}' in log, log[-3000:]
    assert message in log, log[-3000:]
    assert 'Iter(train)' not in log  # refused before the first iteration
    # the message says it all: one line, no traceback
    assert 'Traceback' not in log
    assert log.rstrip().splitlines()[-1].startswith(
        f'train.py: error: {split} annotation file {path}')
    if breaker in (_unknown_category, _duplicate_image_id):
        # the first offending record is named
        rec = ann['annotations'][1] if breaker is _unknown_category else \
            ann['images'][2]
        assert f"'id': {rec['id']!r}" in log


def test_zero_size_boxes_warn_once_and_train(user_run):
    ann = user_run['load']('train')
    for a in ann['annotations'][:2]:
        a['bbox'][2] = 0.0
    ann['annotations'][2]['bbox'][3] = -3.0
    path = user_run['save']('train', ann)
    rc, log = _train(user_run)
    assert rc == 0, log[-3000:]
    line = (f'train annotation file {path}: 3 of '
            f'{len(ann["annotations"])} boxes have zero or negative width '
            'or height and are ignored')
    assert log.count(line) == 1, log[-3000:]
    assert 'Iter(train) [1/1]' in log


def test_test_refuses_a_bad_file(user_run, tmp_path):
    """tools/test.py checks the test split before it builds the dataset
    (and before it loads the checkpoint)."""
    path = user_run['save']('val', _duplicate_image_id(
        user_run['load']('val')))
    rc, log = run_cmd([sys.executable, 'tools/test.py', user_run['config'],
                       str(tmp_path / 'never_loaded.pth'), '--work-dir',
                       user_run['work_dir']])
    assert rc != 0
    assert f'test annotation file {path}: image id' in log, log[-3000:]


def test_mim_train_runs_the_checks(user_run):
    """``mim train`` runs mmdet's tools/train.py, not ours: the package
    (loaded by the config's custom_imports) still checks the files."""
    path = user_run['save']('train', _unknown_category(
        user_run['load']('train')))
    rc, log = run_cmd([bin_path('mim'), 'train', 'mmdet',
                       user_run['config'], '--work-dir',
                       user_run['work_dir']])
    assert rc != 0
    assert f'train annotation file {path}' in log, log[-3000:]
    assert 'has category_id 999' in log


def test_check_annotations_command(user_run, capsys):
    tool = load_script('tools/misc/check_annotations.py')
    good = user_run['load']('val')
    path = user_run['save']('val', good)
    counts = tool.main([path, '--split', 'val'])[path]
    assert counts['images'] == len(good['images'])
    assert f'{path}: OK ({len(good["images"])} images' in \
        capsys.readouterr().out
    user_run['save']('val', _duplicate_image_id(good))
    rc, log = run_cmd([sys.executable, 'tools/misc/check_annotations.py',
                       path, '--split', 'val'])
    assert rc == 1
    assert log.startswith(f'check_annotations: error: val annotation file '
                          f'{path}: image id'), log
    assert 'Traceback' not in log
