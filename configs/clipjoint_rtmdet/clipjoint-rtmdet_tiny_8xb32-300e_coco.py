# CLIP-Joint-Detect on RTMDet-tiny, COCO 2017 (the paper's one-stage
# setting, with RTMDet in place of YOLOv11). Only the head changes: the
# stock RTMDetSepBNHead plus the contrastive branch; everything else is stock.
_base_ = [
    'mmdet::rtmdet/rtmdet_tiny_8xb32-300e_coco.py',
    '../_base_/clipjoint_branch.py'
]

model = dict(
    bbox_head=dict(
        type='ClipJointYOLOHead',
        text_bank=dict(_base_.clipjoint_text_bank, class_names='CocoDataset'),
        proj_hidden=256,
        quality_weight=True,
        neg_pos_ratio=3,
        **_base_.clipjoint_branch))

optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys=_base_.clipjoint_paramwise_keys))
# keep the stock EMAHook and PipelineSwitchHook
custom_hooks = [*_base_.custom_hooks, *_base_.clipjoint_hooks]
# crash-safe checkpoint saving (write to .tmp, then rename)
default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook'))
