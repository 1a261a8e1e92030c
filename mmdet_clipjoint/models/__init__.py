# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
from .backbones import YOLO11Backbone
from .dense_heads import (ClipJointRTMDetHead, ClipJointYOLOHead,
                          ClipJointYOLOXHead, YOLO11Head)
from .detectors import (HybridFasterRCNN, HybridRTMDet,
                        HybridSingleStageDetector, HybridYOLOX)
from .layers import (CLIPPhraseEncoder, ConceptWordTable, ContrastiveTextBank,
                     PhraseTextBank)
from .losses import InfoNCELoss, WordRegionAlignmentLoss, YOLO11CIoULoss
from .necks import YOLO11PAFPN
from .roi_heads import ClipJointBBoxHead, ClipJointRoIHead
from .task_modules import YOLO11TaskAlignedAssigner

__all__ = [
    'ContrastiveTextBank', 'InfoNCELoss', 'ClipJointBBoxHead',
    'ClipJointRoIHead', 'ClipJointRTMDetHead', 'ClipJointYOLOHead',
    'ClipJointYOLOXHead',
    'YOLO11Backbone', 'YOLO11PAFPN', 'YOLO11Head', 'YOLO11CIoULoss',
    'YOLO11TaskAlignedAssigner', 'PhraseTextBank', 'ConceptWordTable',
    'CLIPPhraseEncoder', 'WordRegionAlignmentLoss', 'HybridRTMDet',
    'HybridYOLOX', 'HybridSingleStageDetector', 'HybridFasterRCNN'
]
