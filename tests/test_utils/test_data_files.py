# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""A missing COCO annotation file is named, with the data-layout section
of docs/usage.md, by the dataset, the metric, tools/test.py and ``mim
test`` (issue 28, item 9)."""
import os.path as osp
import sys

import pytest

import mmdet_clipjoint  # noqa: F401
from mmdet_clipjoint.utils import MissingDataFileError
from ..test_tools.conftest import ROOT, bin_path, run_cmd

COCO_CFG = ('configs/clipjoint_faster-rcnn/'
            'clipjoint-faster-rcnn_r50_fpn_1x_coco.py')
ANN = 'data/coco/annotations/instances_val2017.json'


def _check(msg, path):
    assert f'COCO annotation file {path!r} does not exist' in msg
    assert 'docs/usage.md, section "Data: VOC and COCO"' in msg
    assert 'test_dataloader.dataset.data_root=' in msg


def test_dataset_and_metric_name_the_missing_file(tmp_path):
    from mmdet.datasets import CocoDataset
    from mmdet.evaluation import CocoMetric
    missing = str(tmp_path / 'annotations' / 'instances_val2017.json')
    with pytest.raises(MissingDataFileError) as e:
        CocoDataset(data_root=str(tmp_path),
                    ann_file='annotations/instances_val2017.json',
                    data_prefix=dict(img='val2017/'), pipeline=[])
    _check(str(e.value), missing)
    assert f"nearest existing folder is {str(tmp_path)!r}" in str(e.value)
    with pytest.raises(FileNotFoundError) as e:  # still a FileNotFoundError
        CocoMetric(ann_file=missing)
    _check(str(e.value), missing)


def test_shipped_coco_config_without_data(tmp_path):
    """From the repository root, where no data/coco exists: tools/test.py
    and mim test stop at the dataset with the message."""
    assert not osp.exists(osp.join(ROOT, 'data', 'coco'))
    for cmd in ([sys.executable, 'tools/test.py', COCO_CFG, 'none.pth'],
                [bin_path('mim'), 'test', 'mmdet', COCO_CFG, '--checkpoint',
                 'none.pth']):
        rc, log = run_cmd(cmd + ['--work-dir', str(tmp_path / 'w')])
        assert rc != 0
        _check(log, ANN)
        if cmd[1] == 'tools/test.py':  # the wrapper: no traceback
            assert 'test.py: error: COCO annotation file' in log
            assert 'Traceback' not in log
        else:
            assert 'MissingDataFileError: COCO annotation file' in log
        assert f'relative to the working directory {ROOT}' in log
