# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Shared fixtures: a tiny generated COCO dataset and config helpers."""
import os
import os.path as osp

import pytest
import torch

# keep CPU runs predictable on the 2-core CI machine
torch.set_num_threads(min(2, os.cpu_count() or 1))


@pytest.fixture(scope='session')
def synthetic_coco(tmp_path_factory):
    """8 train / 4 val images of 128x128 with 12 classes (COCO + VOC)."""
    from mmdet_clipjoint.datasets import make_synthetic_dataset
    root = str(tmp_path_factory.mktemp('synthetic'))
    return make_synthetic_dataset(root, num_train=8, num_val=4,
                                  img_size=(128, 128), seed=0, voc=True)

