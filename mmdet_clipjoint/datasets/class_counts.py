# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Boxes per class of a (wrapped) detection dataset."""
from typing import Optional

import numpy as np

__all__ = ['dataset_class_counts']


def dataset_class_counts(dataset, num_classes: int) -> Optional[np.ndarray]:
    """Training boxes per class, as the run will see them.

    Counts the non-ignored instances (``bbox_label``) of every image through
    ``dataset.get_data_info``, so mmengine's wrappers (``ConcatDataset``,
    ``RepeatDataset``, ``ClassBalancedDataset``: repeated images count
    again) and this package's stress wrappers (rewritten labels) count what
    they serve. A wrapper without ``get_data_info`` (mmdet's
    ``MultiImageMixDataset``) is counted through its ``dataset``.

    Args:
        dataset: A built dataset.
        num_classes (int): C, the width of the result.

    Returns:
        np.ndarray | None: int64 counts of shape (C,), or None when the
        dataset cannot be read this way (no ``get_data_info`` on it or on
        what it wraps).

    Raises:
        ValueError: a label outside ``[0, C)``.
    """
    while not hasattr(dataset, 'get_data_info') and hasattr(
            dataset, 'dataset'):
        dataset = dataset.dataset
    if not hasattr(dataset, 'get_data_info'):
        return None
    if hasattr(dataset, 'full_init'):
        dataset.full_init()
    counts = np.zeros(num_classes, dtype=np.int64)
    for i in range(len(dataset)):
        for inst in dataset.get_data_info(i).get('instances', []):
            if inst.get('ignore_flag', 0):
                continue
            label = int(inst['bbox_label'])
            if not 0 <= label < num_classes:
                raise ValueError(
                    f'image {i} of the training set has a box of label '
                    f'{label}, outside [0, {num_classes}): the dataset and '
                    'the model disagree on the classes.')
            counts[label] += 1
    return counts
