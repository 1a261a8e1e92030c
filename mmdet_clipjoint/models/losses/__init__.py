# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
from .infonce_loss import InfoNCELoss, infonce_loss
from .word_region_loss import WordRegionAlignmentLoss, similarity_matrix
from .yolo11_ciou_loss import YOLO11CIoULoss, bbox_ciou

__all__ = [
    'InfoNCELoss', 'infonce_loss', 'YOLO11CIoULoss', 'bbox_ciou',
    'WordRegionAlignmentLoss', 'similarity_matrix'
]
