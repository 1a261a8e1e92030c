# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Base of the dataset wrappers that stress a dataset's annotations."""
import copy
import os.path as osp
from typing import Dict, List, Optional, Union

import numpy as np
from mmengine.dataset import BaseDataset, force_full_init

from mmdet.registry import DATASETS
from ..checks import check_coco_annotation_file
from ..class_counts import dataset_class_counts

__all__ = ['AnnotationStressWrapper']


def _check_training_file(cfg: dict) -> None:
    """A wrapped COCO dataset config's annotation file, checked before mmdet
    reads it (the wrappers stress training data)."""
    ann = cfg.get('ann_file')
    if isinstance(ann, str) and ann.endswith('.json'):
        path = ann if osp.isabs(ann) else osp.join(cfg.get('data_root') or
                                                   '', ann)
        check_coco_annotation_file(path, 'train', need_boxes=True)


class AnnotationStressWrapper:
    """Wrap any mmdet dataset and rewrite its annotations deterministically.

    Subclasses implement :meth:`_build` (called once, after the wrapped
    dataset's ``full_init``) which fills ``self.indices`` (the kept image
    indices of the wrapped dataset) and may fill ``self.new_labels``
    (``{wrapped_idx: [label per instance]}``). Everything else -- the
    pipeline, metainfo, ``get_data_info`` for samplers -- goes through the
    wrapped dataset, so the wrapper works for COCO, VOC or any
    ``BaseDetDataset`` and can be stacked.

    Args:
        dataset (dict | BaseDataset): The dataset (config) to wrap.
        seed (int): Seed of every random choice.
        lazy_init (bool): Defer :meth:`full_init`.
    """

    max_refetch = 100

    def __init__(self,
                 dataset: Union[dict, BaseDataset],
                 seed: int = 0,
                 lazy_init: bool = False) -> None:
        if isinstance(dataset, dict):
            _check_training_file(dataset)
        self.dataset = DATASETS.build(dataset) if isinstance(dataset,
                                                             dict) else dataset
        self.seed = seed
        self._metainfo = self.dataset.metainfo
        self.indices: List[int] = []
        self.new_labels: Dict[int, List[int]] = {}
        self._fully_initialized = False
        if not lazy_init:
            self.full_init()

    @property
    def metainfo(self) -> dict:
        return copy.deepcopy(self._metainfo)

    @property
    def pipeline(self):
        return self.dataset.pipeline

    @property
    def num_classes(self) -> int:
        return len(self._metainfo['classes'])

    def full_init(self) -> None:
        if self._fully_initialized:
            return
        ann_file = getattr(self.dataset, 'ann_file', '') or ''
        if str(ann_file).endswith('.json'):
            # training data: a clear error instead of mmdet's raw ones
            check_coco_annotation_file(ann_file, 'train', need_boxes=True)
        self.dataset.full_init()
        self._build(np.random.default_rng(self.seed))
        if not self.indices:
            raise ValueError(
                f'{type(self).__name__} kept no image of '
                f'{ann_file or type(self.dataset).__name__} (of '
                f'{len(self.dataset)}): its settings remove everything.')
        self._fully_initialized = True

    def _build(self, rng: np.random.Generator) -> None:
        raise NotImplementedError

    def _labels_of(self, idx: int) -> List[int]:
        """Labels of the non-ignored instances of wrapped image ``idx``."""
        info = self.dataset.get_data_info(idx)
        return [
            int(i['bbox_label']) for i in info.get('instances', [])
            if not i.get('ignore_flag', 0)
        ]

    @force_full_init
    def get_data_info(self, idx: int) -> dict:
        """Annotation of image ``idx`` with the rewritten labels."""
        ori = self.indices[idx]
        info = self.dataset.get_data_info(ori)
        labels = self.new_labels.get(ori)
        if labels is not None:
            kept = [i for i in info['instances'] if not i.get('ignore_flag', 0)]
            for inst, label in zip(kept, labels):
                inst['bbox_label'] = label
        return info

    @force_full_init
    def get_cat_ids(self, idx: int) -> List[int]:
        return sorted(set(self._labels_of(self.indices[idx])))

    @force_full_init
    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, idx: int) -> Optional[dict]:
        if not self._fully_initialized:
            self.full_init()
        for _ in range(self.max_refetch + 1):
            data = self.dataset.pipeline(self.get_data_info(idx))
            if data is not None:
                return data
            idx = int(np.random.randint(0, len(self)))
        raise RuntimeError(f'Cannot find a valid image after '
                           f'{self.max_refetch} tries; check the pipeline.')

    def class_counts(self) -> np.ndarray:
        """Instances per class after the rewrite, shape (C,)."""
        return dataset_class_counts(self, self.num_classes)
