# CLIP-Joint-Detect on YOLOX-s, COCO 2017. Only the head changes: the stock
# YOLOXHead (SimOTA, cls / obj / IoU / L1 losses) plus the contrastive branch.
_base_ = [
    'mmdet::yolox/yolox_s_8xb8-300e_coco.py', '../_base_/clipjoint_branch.py'
]

model = dict(
    bbox_head=dict(
        type='ClipJointYOLOXHead',
        text_bank=dict(_base_.clipjoint_text_bank, class_names='CocoDataset'),
        proj_hidden=256,
        quality_weight=True,
        neg_pos_ratio=3,
        **_base_.clipjoint_branch))

optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys=_base_.clipjoint_paramwise_keys))
# keep the stock YOLOXModeSwitchHook, SyncNormHook and EMAHook
custom_hooks = [*_base_.custom_hooks, *_base_.clipjoint_hooks]
# crash-safe checkpoint saving (write to .tmp, then rename)
default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook'))
