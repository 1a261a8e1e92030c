# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""The speed benchmark's tables: the detector pairs it times, the ClipJoint
score modes and the presets of its settings. Read by :mod:`.speed` (the
measurements) and :mod:`.speed_report` (the report) alike."""
from typing import Dict

__all__ = ['SPEED_DETECTORS', 'SCORE_MODES', 'SPEED_PRESETS', 'SPEED_DEFAULTS']

#: detector -> its stock config (mmdet's) and its ClipJoint twin (shipped
#: with the package, see :mod:`mmdet_clipjoint.utils.config_files`)
SPEED_DETECTORS: Dict[str, dict] = dict(
    frcnn=dict(
        name='Faster R-CNN R50-FPN',
        stock='mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py',
        clipjoint='configs/clipjoint_faster-rcnn/'
        'clipjoint-faster-rcnn_r50_fpn_1x_coco.py'),
    rtmdet=dict(
        name='RTMDet-tiny',
        stock='mmdet::rtmdet/rtmdet_tiny_8xb32-300e_coco.py',
        clipjoint='configs/clipjoint_rtmdet/'
        'clipjoint-rtmdet_tiny_8xb32-300e_coco.py'),
    yolo11=dict(
        name='YOLO11-n',
        stock='configs/yolo11/yolo11_n_8xb16-600e_coco.py',
        clipjoint='configs/clipjoint_yolo11/'
        'clipjoint-yolo11_n_8xb16-600e_coco.py'),
    yolox=dict(
        name='YOLOX-s',
        stock='mmdet::yolox/yolox_s_8xb8-300e_coco.py',
        clipjoint='configs/clipjoint_yolox/clipjoint-yolox_s_8xb8-300e_coco.py'),
)
#: the ClipJoint score modes timed (each its own model, same weights)
SCORE_MODES = ('det', 'clip', 'fuse')

#: preset -> settings (the options of ``tools/benchmark_speed.py`` say what
#: each one means)
SPEED_PRESETS: Dict[str, dict] = dict(
    # < 2 min on 2 shared CPU cores, R18 backbone for Faster R-CNN
    quick=dict(img_size=128, reps=11, reps_batched=3, train_reps=5, warmup=1,
               batches=[1], train_batch=2,
               light_backbone=True, small_rois=True, aa=False, memory=True,
               flops=True, profile=0, text_bank=False),
    full=dict(img_size=320, reps=15, reps_batched=5, train_reps=9, warmup=2,
              batches=[1, 8],
              train_batch=2, light_backbone=False, small_rois=False,
              aa=True, memory=True, flops=True, profile=5, text_bank=True),
)
#: settings no preset changes
SPEED_DEFAULTS: Dict[str, object] = dict(
    modes=list(SCORE_MODES), train=True, dense_fuse=False,
    kept_fraction=None, text_classes=80, text_templates=[1, 10],
    clip_model='ViT-B-32')
