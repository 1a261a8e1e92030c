# YOLO11-n on COCO 2017 with the published recipe (../shared/YOLO11.md):
# SGD 0.01 -> 0.0001 (linear), momentum 0.937, weight decay 5e-4 (none on
# norms and biases), 3 warm-up epochs, 640 px, mosaic switched off for the
# last 10 epochs, EMA of the weights. 8 GPUs x 16 images.
# Starting from official weights: tools/model_converters/yolo11_to_mmdet.py.
_base_ = [
    'mmdet::_base_/datasets/coco_detection.py',
    'mmdet::_base_/default_runtime.py'
]
custom_imports = dict(imports=['mmdet_clipjoint'], allow_failed_imports=False)

arch = 'n'
img_scale = (640, 640)
max_epochs = 600
close_mosaic_epochs = 10
base_lr = 0.01
batch_size = 16  # per GPU
# n 0 / 0.10, s 0.05 / 0.15, m 0.15 / 0.40 (copy-paste needs masks: not used)
mixup_prob = 0.0

model = dict(
    type='SingleStageDetector',
    # YOLO normalises RGB images to [0, 1] (what converted weights expect)
    data_preprocessor=dict(
        type='DetDataPreprocessor',
        mean=[0.0, 0.0, 0.0],
        std=[255.0, 255.0, 255.0],
        bgr_to_rgb=True,
        pad_size_divisor=32,
        pad_value=114),
    backbone=dict(type='YOLO11Backbone', arch=arch),
    neck=dict(type='YOLO11PAFPN', arch=arch),
    bbox_head=dict(
        type='YOLO11Head',
        num_classes=80,
        in_channels=(64, 128, 256),
        reg_max=16,
        strides=(8, 16, 32),
        loss_cls=dict(
            type='CrossEntropyLoss',
            use_sigmoid=True,
            reduction='mean',
            loss_weight=0.5),
        loss_bbox=dict(type='YOLO11CIoULoss', loss_weight=7.5),
        loss_dfl=dict(
            type='DistributionFocalLoss', reduction='mean', loss_weight=1.5)),
    train_cfg=dict(
        assigner=dict(
            type='YOLO11TaskAlignedAssigner', topk=10, alpha=0.5, beta=6.0)),
    # validation as published: conf 0.001, NMS IoU 0.7, <= 300 detections
    test_cfg=dict(
        nms_pre=30000,
        score_thr=0.001,
        nms=dict(type='nms', iou_threshold=0.7),
        max_per_img=300))

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=_base_.backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='CachedMosaic', img_scale=img_scale, pad_val=114.0),
    dict(
        type='RandomAffine',
        max_rotate_degree=0.0,
        max_shear_degree=0.0,
        max_translate_ratio=0.1,
        scaling_ratio_range=(0.5, 1.5),
        border=(-img_scale[0] // 2, -img_scale[1] // 2)),
    dict(
        type='CachedMixUp',
        img_scale=img_scale,
        ratio_range=(1.0, 1.0),
        max_cached_images=20,
        pad_val=(114, 114, 114),
        prob=mixup_prob),
    dict(type='YOLOXHSVRandomAug'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='FilterAnnotations', min_gt_bbox_wh=(1, 1), keep_empty=False),
    dict(type='PackDetInputs')
]
# the last `close_mosaic_epochs`: letterboxed images, affine + flip only
train_pipeline_stage2 = [
    dict(type='LoadImageFromFile', backend_args=_base_.backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='Pad', size=img_scale, pad_val=dict(img=(114, 114, 114))),
    dict(
        type='RandomAffine',
        max_rotate_degree=0.0,
        max_shear_degree=0.0,
        max_translate_ratio=0.1,
        scaling_ratio_range=(0.5, 1.5)),
    dict(type='YOLOXHSVRandomAug'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='FilterAnnotations', min_gt_bbox_wh=(1, 1), keep_empty=False),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=_base_.backend_args),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='Pad', size=img_scale, pad_val=dict(img=(114, 114, 114))),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor'))
]

train_dataloader = dict(
    batch_size=batch_size,
    num_workers=8,
    batch_sampler=None,
    pin_memory=True,
    dataset=dict(
        filter_cfg=dict(filter_empty_gt=False, min_size=1),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=16, num_workers=4, dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

# The larger scales as deltas over this config, read by yolo11_{s,m}_* here
# and by configs/clipjoint_yolo11/: widths (width 0.50 at s; 1.00 with at
# most 512 channels at m, with C3k blocks everywhere) and MixUp probability.
yolo11_scales = {
    arch: dict(
        model=dict(
            backbone=dict(arch=arch),
            neck=dict(arch=arch),
            bbox_head=dict(in_channels=in_channels)),
        train_dataloader=dict(dataset=dict(pipeline=[
            *train_pipeline[:4],
            dict(train_pipeline[4], prob=prob), *train_pipeline[5:]
        ])))
    for arch, in_channels, prob in (('s', (128, 256, 512), 0.05),
                                    ('m', (256, 512, 512), 0.15))
}

train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=10,
    dynamic_intervals=[(max_epochs - close_mosaic_epochs, 1)])
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

# weight decay 5e-4 at the nominal batch of 64 (Ultralytics scales it by
# batch / 64 with gradient accumulation up to 64 images: 5e-4 at 16 / GPU)
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(
        type='SGD', lr=base_lr, momentum=0.937, weight_decay=5e-4,
        nesterov=True),
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0))

param_scheduler = [
    # 3 warm-up epochs (per iteration); momentum 0.8 -> 0.937 alongside
    dict(
        type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=3,
        convert_to_iter_based=True),
    dict(
        type='LinearMomentum', start_factor=0.8 / 0.937, by_epoch=True,
        begin=0, end=3, convert_to_iter_based=True),
    # linear decay to lrf = 0.01 x the base lr over the whole schedule
    dict(
        type='LinearLR', start_factor=1.0, end_factor=0.01, by_epoch=True,
        begin=0, end=max_epochs, convert_to_iter_based=True)
]

default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=10, max_keep_ckpts=3))
custom_hooks = [
    # EMA with Ultralytics' ramp: decay 0.9999 * (1 - exp(-updates / 2000))
    dict(
        type='EMAHook',
        ema_type='ExpMomentumEMA',
        momentum=0.0001,
        gamma=2000,
        update_buffers=True,
        priority=49),
    dict(
        type='PipelineSwitchHook',
        switch_epoch=max_epochs - close_mosaic_epochs,
        switch_pipeline=train_pipeline_stage2)
]

# base_batch_size = 8 GPUs x 16 images
auto_scale_lr = dict(enable=False, base_batch_size=128)
