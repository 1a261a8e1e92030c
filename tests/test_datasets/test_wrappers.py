# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Label-noise and long-tail wrappers on real COCO / VOC loaders."""
import numpy as np
import pytest

import mmdet_clipjoint  # noqa: F401
from mmdet.registry import DATASETS
from mmdet.utils import register_all_modules
from mmdet_clipjoint.datasets import (SYNTHETIC_CLASSES, SYNTHETIC_CONFUSABLE,
                                      make_synthetic_dataset)


register_all_modules()


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('stress'))
    return make_synthetic_dataset(root, num_train=80, num_val=2,
                                  img_size=(64, 64), objects_per_image=(1, 3),
                                  seed=3, voc=True)


def coco_cfg(data, pipeline=()):
    return dict(type='CocoDataset', data_root=data['data_root'],
                ann_file=data['train_ann_file'],
                data_prefix=dict(img='train/'),
                metainfo=dict(classes=SYNTHETIC_CLASSES),
                filter_cfg=dict(filter_empty_gt=False),
                pipeline=list(pipeline))


def voc_cfg(data):
    return dict(type='VOCDataset', data_root=data['data_root'] + '/',
                ann_file='VOCdevkit/VOC2007/ImageSets/Main/trainval.txt',
                data_prefix=dict(sub_data_root='VOCdevkit/VOC2007/'),
                metainfo=dict(classes=SYNTHETIC_CLASSES), pipeline=[])


def labels(ds):
    return [[i['bbox_label'] for i in ds.get_data_info(k)['instances']]
            for k in range(len(ds))]


@pytest.mark.parametrize('inner', [coco_cfg, voc_cfg])
def test_symmetric_noise(data, inner):
    clean = DATASETS.build(inner(data))
    noisy = DATASETS.build(dict(type='NoisyLabelDataset', noise_rate=0.3,
                                seed=1, dataset=inner(data)))
    a, b = labels(clean), labels(noisy)
    assert len(a) == len(b) == 80
    flat_a, flat_b = np.concatenate(a), np.concatenate(b)
    rate = (flat_a != flat_b).mean()
    assert 0.2 < rate < 0.4, rate
    m = noisy.noise_matrix
    assert m.sum() == len(flat_a) and np.trace(m) == (flat_a == flat_b).sum()
    # symmetric: flips spread over many target classes
    assert (m - np.diag(np.diag(m)) > 0).sum() > 12
    # deterministic by seed; a different seed differs
    again = DATASETS.build(dict(type='NoisyLabelDataset', noise_rate=0.3,
                                seed=1, dataset=inner(data)))
    assert labels(again) == b
    other = DATASETS.build(dict(type='NoisyLabelDataset', noise_rate=0.3,
                                seed=2, dataset=inner(data)))
    assert labels(other) != b


def test_pairwise_noise_flips_to_confusable_class(data):
    noisy = DATASETS.build(dict(type='NoisyLabelDataset', noise_rate=0.4,
                                noise_type='pairwise',
                                flip_map=SYNTHETIC_CONFUSABLE, seed=0,
                                dataset=coco_cfg(data)))
    m = noisy.noise_matrix
    for y, row in enumerate(m):
        target = SYNTHETIC_CLASSES.index(
            SYNTHETIC_CONFUSABLE[SYNTHETIC_CLASSES[y]])
        off = [z for z in np.nonzero(row)[0] if z != y]
        assert set(off) <= {target}
    assert np.trace(m) < m.sum()


def test_noisy_labels_reach_the_pipeline(data):
    pipeline = [dict(type='LoadImageFromFile'),
                dict(type='LoadAnnotations', with_bbox=True),
                dict(type='PackDetInputs')]
    noisy = DATASETS.build(dict(type='NoisyLabelDataset', noise_rate=0.5,
                                seed=0, dataset=coco_cfg(data, pipeline)))
    for k in range(5):
        out = noisy[k]['data_samples'].gt_instances.labels.tolist()
        assert out == labels(noisy)[k]


def test_long_tail_profile(data):
    clean = DATASETS.build(coco_cfg(data))
    lt = DATASETS.build(dict(type='LongTailDataset', imbalance_ratio=10,
                             seed=0, dataset=coco_cfg(data)))
    assert len(lt) < len(clean)
    counts = lt.class_counts()
    np.testing.assert_array_equal(counts, lt.counts)
    # the tail is much smaller than the head, never above its target
    # for the rarest classes
    assert counts[0] >= 5 * max(counts[-1], 1)
    assert (counts[-3:] <= lt.targets[-3:]).all()
    assert counts[-1] >= 1
    # stacking: noise on top of the long-tailed subset
    both = DATASETS.build(dict(
        type='NoisyLabelDataset', noise_rate=0.3, seed=0,
        dataset=dict(type='LongTailDataset', imbalance_ratio=10, seed=0,
                     dataset=coco_cfg(data))))
    assert len(both) == len(lt)


@pytest.mark.parametrize('ratio', [10, 50])
def test_long_tail_keeps_every_class(data, ratio):
    # regression: once a rare class went over its target through an
    # image kept for a rarer one, no image of any more frequent class was
    # kept (5 of 400 images, every head class at 0)
    lt = DATASETS.build(dict(type='LongTailDataset', imbalance_ratio=ratio,
                             seed=0, dataset=coco_cfg(data)))
    counts = lt.class_counts()
    assert (counts >= 1).all(), counts
    thirds = [counts[k:k + 4].sum() for k in (0, 4, 8)]
    assert thirds[0] >= thirds[1] > thirds[2], counts
    assert counts[0] >= 3 * counts[-1], counts


@pytest.mark.parametrize('cfg,match', [
    (dict(type='NoisyLabelDataset', noise_rate=1.0), 'noise_rate'),
    (dict(type='NoisyLabelDataset', noise_type='x'), 'noise_type'),
    (dict(type='NoisyLabelDataset', noise_type='pairwise',
          flip_map={'pink cloud': 'red circle'}), 'unknown classes'),
    (dict(type='LongTailDataset', imbalance_ratio=0.5), 'imbalance_ratio'),
])
def test_bad_arguments(data, cfg, match):
    with pytest.raises(ValueError, match=match):
        DATASETS.build(dict(cfg, dataset=coco_cfg(data)))
