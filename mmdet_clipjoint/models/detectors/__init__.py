# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
from .hybrid_detectors import (CaptionBatchMixin, HybridRTMDet,
                               HybridSingleStageDetector, HybridYOLOX)

__all__ = [
    'CaptionBatchMixin', 'HybridRTMDet', 'HybridYOLOX',
    'HybridSingleStageDetector'
]
