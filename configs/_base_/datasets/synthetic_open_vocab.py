# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
# Dataset settings: hybrid detection + caption training on the synthetic
# open-vocabulary set (issue 15): box labels for 6 of the 9 classes,
# captions that name all 9, and box AP on all 9 at validation (classwise, so
# the 3 unseen classes read as zero-shot AP).
#
# Generate the data (default place, then nothing needs overriding):
#   python tools/make_synthetic_dataset.py data/synthetic_open_vocab \
#       --captions --num-train 600 --num-caption-train 600 --num-val 150
# (or mmdet_clipjoint.datasets.make_synthetic_caption_dataset).
#
# Every name here starts with `ov_`, so that this file can sit next to a
# detector config among the bases (mmengine refuses two bases that set the
# same key, and every mmdet detector config already sets train_dataloader
# & co). A main config takes the loaders from it explicitly, e.g.
# configs/clipjoint_open_vocab/*:
#   train_dataloader = dict(_base_.ov_train_dataloader, _delete_=True)
#   val_dataloader = dict(_base_.ov_val_dataloader, _delete_=True)
#   val_evaluator = dict(_base_.ov_val_evaluator, _delete_=True)
#
# Data elsewhere: override every data_root of the main config. On the
# command line (mmengine's --cfg-options takes list indices):
#   --cfg-options train_dataloader.dataset.datasets.0.data_root=DIR/ \
#     train_dataloader.dataset.datasets.1.data_root=DIR/ \
#     val_dataloader.dataset.data_root=DIR/ \
#     test_dataloader.dataset.data_root=DIR/ \
#     val_evaluator.ann_file=DIR/annotations/instances_val.json \
#     test_evaluator.ann_file=DIR/annotations/instances_val.json
# or in a child config of the main one:
#   data_root = 'DIR/'
#   train_dataloader = dict(dataset=dict(datasets=[
#       dict(_base_.ov_det_train_dataset, data_root=data_root),
#       dict(_base_.ov_caption_train_dataset, data_root=data_root)]))
#   val_dataloader = dict(dataset=dict(data_root=data_root))
#   test_dataloader = val_dataloader
#   val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
#   test_evaluator = val_evaluator
#
# The main config must load the package (CaptionPhraseDataset is ours):
#   custom_imports = dict(imports=['mmdet_clipjoint'],
#                         allow_failed_imports=False)
# No custom_imports here: two bases may not set the same key.
#
# Alternation: mmdet's ConcatDataset + MultiDataSampler +
# MultiDataAspectRatioBatchSampler (the MM-Grounding-DINO / Detic recipe).
# Every batch comes from ONE dataset (all detection or all caption);
# `batch_size` is a list, one entry per dataset (mmengine hands it to the
# batch sampler); `dataset_ratio` sets how often each kind is drawn. Both
# datasets get the same `metainfo` (classes and palette): otherwise mmdet's
# ConcatDataset turns its metainfo into a list, which the runner passes to
# the visualizer and the checkpoint meta.
ov_dataset_type = 'CocoDataset'
ov_data_root = 'data/synthetic_open_vocab/'
ov_backend_args = None

# SYNTHETIC_OPEN_VOCAB_CLASSES (same order: category ids 1..9 of every file)
ov_classes = ('red circle', 'red square', 'red triangle', 'green circle',
              'green square', 'green triangle', 'blue circle', 'blue square',
              'blue triangle')
# SYNTHETIC_OPEN_VOCAB_UNSEEN: no training box (zero-shot at validation)
ov_unseen_classes = ('red square', 'green triangle', 'blue circle')
ov_metainfo = dict(
    classes=ov_classes,
    palette=[(220, 40, 40)] * 3 + [(40, 170, 60)] * 3 + [(40, 80, 220)] * 3)

ov_img_scale = (256, 256)
# caption images at half resolution: their loss needs no small-box detail
ov_caption_scale = (128, 128)

ov_det_train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=ov_backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=ov_img_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='Pad', size=ov_img_scale, pad_val=dict(img=(114, 114, 114))),
    dict(type='PackDetInputs')
]
# No RandomFlip: a flip would contradict "left of" / "right of" captions.
# LoadAnnotations on instances=[] gives empty (0, 4) gt boxes, so
# data_sample.gt_instances has (empty) bboxes and labels like any sample.
ov_caption_train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=ov_backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=ov_caption_scale, keep_ratio=True),
    dict(type='Pad', size=ov_caption_scale, pad_val=dict(img=(114, 114, 114))),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor', 'flip', 'flip_direction', 'gt_caption',
                   'phrases'))
]
ov_test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=ov_backend_args),
    dict(type='Resize', scale=ov_img_scale, keep_ratio=True),
    dict(type='Pad', size=ov_img_scale, pad_val=dict(img=(114, 114, 114))),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor'))
]

ov_det_train_dataset = dict(
    type=ov_dataset_type,
    data_root=ov_data_root,
    metainfo=ov_metainfo,
    ann_file='annotations/instances_det_train.json',
    data_prefix=dict(img='det_train/'),
    filter_cfg=dict(filter_empty_gt=True, min_size=8),
    pipeline=ov_det_train_pipeline,
    backend_args=ov_backend_args)
ov_caption_train_dataset = dict(
    type='CaptionPhraseDataset',
    data_root=ov_data_root,
    metainfo=ov_metainfo,
    ann_file='annotations/captions_caption_train.json',
    data_prefix=dict(img='caption_train/'),
    # entries without "phrases" are chunked against these names
    phrase_vocab=ov_classes,
    filter_cfg=dict(min_size=8),  # never drops images for having no boxes
    pipeline=ov_caption_train_pipeline,
    backend_args=ov_backend_args)

ov_train_dataloader = dict(
    batch_size=[8, 8],  # [detection, caption]
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='MultiDataSampler', dataset_ratio=[1, 1]),
    batch_sampler=dict(type='MultiDataAspectRatioBatchSampler',
                       num_datasets=2),
    dataset=dict(
        type='ConcatDataset',
        datasets=[ov_det_train_dataset, ov_caption_train_dataset]))
ov_val_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=ov_dataset_type,
        data_root=ov_data_root,
        metainfo=ov_metainfo,
        ann_file='annotations/instances_val.json',
        data_prefix=dict(img='val/'),
        test_mode=True,
        pipeline=ov_test_pipeline,
        backend_args=ov_backend_args))
ov_test_dataloader = ov_val_dataloader

ov_val_evaluator = dict(
    type='CocoMetric',
    ann_file=ov_data_root + 'annotations/instances_val.json',
    metric='bbox',
    classwise=True,
    format_only=False,
    backend_args=ov_backend_args)
ov_test_evaluator = ov_val_evaluator
