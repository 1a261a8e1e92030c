# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
from .hybrid_detectors import (CaptionBatchMixin, HybridFasterRCNN,
                               HybridRTMDet, HybridSingleStageDetector,
                               HybridYOLOX)

__all__ = [
    'CaptionBatchMixin', 'HybridRTMDet', 'HybridYOLOX',
    'HybridSingleStageDetector', 'HybridFasterRCNN'
]
