# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""dataset_class_counts: the training boxes per class a run sees."""
import pytest

from mmdet_clipjoint.datasets import dataset_class_counts


class _Data:
    """What the counter reads of a dataset: len and get_data_info."""

    def __init__(self, labels):
        self.infos = [
            dict(instances=[dict(bbox_label=lab, ignore_flag=int(ign))
                            for lab, ign in img]) for img in labels
        ]

    def __len__(self):
        return len(self.infos)

    def get_data_info(self, i):
        return self.infos[i]


class _Mix:
    """A wrapper without get_data_info (like MultiImageMixDataset)."""

    def __init__(self, dataset):
        self.dataset = dataset


def test_counts_skip_ignored_boxes_and_unwrap():
    data = _Data([[(0, 0), (2, 0), (2, 1)], [(2, 0)], []])
    assert dataset_class_counts(data, 4).tolist() == [1, 0, 2, 0]
    assert dataset_class_counts(_Mix(data), 4).tolist() == [1, 0, 2, 0]
    assert dataset_class_counts(object(), 4) is None


def test_label_outside_the_classes_is_a_clear_error():
    with pytest.raises(ValueError, match='disagree on the classes'):
        dataset_class_counts(_Data([[(5, 0)]]), 4)
