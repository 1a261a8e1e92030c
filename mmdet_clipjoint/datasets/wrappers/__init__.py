# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
from .annotation_wrapper import AnnotationStressWrapper
from .long_tail_dataset import LongTailDataset
from .noisy_label_dataset import NoisyLabelDataset

__all__ = ['AnnotationStressWrapper', 'LongTailDataset', 'NoisyLabelDataset']
