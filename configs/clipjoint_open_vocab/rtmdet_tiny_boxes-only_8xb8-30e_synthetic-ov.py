# The stock twin: RTMDet-tiny on the box-labelled images only (6 of the 9
# classes have boxes; its 9-way classifier never sees the other 3).
_base_ = [
    'mmdet::rtmdet/rtmdet_tiny_8xb32-300e_coco.py',
    '../_base_/datasets/synthetic_open_vocab.py'
]
custom_imports = dict(imports=['mmdet_clipjoint'], allow_failed_imports=False)

model = dict(bbox_head=dict(num_classes=9))

train_dataloader = dict(
    _delete_=True,
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='AspectRatioBatchSampler'),
    dataset=_base_.ov_det_train_dataset)
val_dataloader = dict(_base_.ov_val_dataloader, _delete_=True)
test_dataloader = val_dataloader
val_evaluator = dict(_base_.ov_val_evaluator, _delete_=True)
test_evaluator = val_evaluator

max_epochs = 30
train_cfg = dict(
    _delete_=True, type='EpochBasedTrainLoop', max_epochs=max_epochs,
    val_interval=10)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0,
         end=200),
    dict(type='CosineAnnealingLR', eta_min=2e-4, begin=max_epochs // 2,
         end=max_epochs, T_max=max_epochs // 2, by_epoch=True,
         convert_to_iter_based=True)
]
optim_wrapper = dict(optimizer=dict(lr=0.004))
auto_scale_lr = dict(enable=False, base_batch_size=16)
custom_hooks = [
    dict(type='EMAHook', ema_type='ExpMomentumEMA', momentum=0.0002,
         update_buffers=True, priority=49)
]
