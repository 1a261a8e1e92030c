# YOLO11-n on Pascal VOC 07+12 (20 classes): the COCO recipe, 100 epochs
# (the usual fine-tuning length for VOC; no published VOC recipe exists),
# mosaic off for the last 10. Evaluated with VOC07 mAP (11 points), as
# mmdet's VOC configs. Start from converted COCO weights:
#   python tools/model_converters/yolo11_to_mmdet.py yolo11n.pt yolo11n.pth
#   ... --cfg-options load_from=yolo11n.pth   (the 80-class classifier is
#   skipped with a warning; everything else is reused)
_base_ = './yolo11_n_8xb16-600e_coco.py'

dataset_type = 'VOCDataset'
data_root = 'data/VOCdevkit/'
max_epochs = 100
close_mosaic_epochs = 10

model = dict(bbox_head=dict(num_classes=20))


def _voc(year, split, pipeline, test_mode=False):
    return dict(
        type=dataset_type,
        data_root=data_root,
        ann_file=f'VOC{year}/ImageSets/Main/{split}.txt',
        data_prefix=dict(sub_data_root=f'VOC{year}/'),
        test_mode=test_mode,
        filter_cfg=dict(filter_empty_gt=False, min_size=1),
        pipeline=pipeline,
        backend_args=_base_.backend_args)


train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='ConcatDataset',
        ignore_keys=['dataset_type'],
        datasets=[
            _voc(2007, 'trainval', _base_.train_pipeline),
            _voc(2012, 'trainval', _base_.train_pipeline)
        ]))
val_dataloader = dict(
    dataset=dict(
        _delete_=True, **_voc(2007, 'test', _base_.test_pipeline, True)))
test_dataloader = val_dataloader
val_evaluator = dict(
    _delete_=True, type='VOCMetric', metric='mAP', eval_mode='11points')
test_evaluator = val_evaluator

train_cfg = dict(
    max_epochs=max_epochs,
    dynamic_intervals=[(max_epochs - close_mosaic_epochs, 1)])
param_scheduler = [
    *_base_.param_scheduler[:2],
    dict(_base_.param_scheduler[2], end=max_epochs)
]
custom_hooks = [
    _base_.custom_hooks[0],
    dict(_base_.custom_hooks[1], switch_epoch=max_epochs - close_mosaic_epochs)
]
