# CLIP-Joint-Detect on Faster R-CNN R50-FPN, Pascal VOC 07+12 (the paper's
# two-stage setting). Only the RoI head changes; everything else is stock.
_base_ = [
    'mmdet::pascal_voc/faster-rcnn_r50_fpn_1x_voc0712.py',
    '../_base_/clipjoint_branch.py'
]

model = dict(
    roi_head=dict(
        type='ClipJointRoIHead',
        bbox_head=dict(
            type='ClipJointBBoxHead',
            text_bank=dict(
                _base_.clipjoint_text_bank,
                class_names='VOCDataset',
                prompt_aliases=dict(
                    diningtable='dining table', pottedplant='potted plant',
                    tvmonitor='tv monitor')),
            proj_hidden=1024,
            **_base_.clipjoint_branch)))

optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys=_base_.clipjoint_paramwise_keys))
custom_hooks = _base_.clipjoint_hooks
# crash-safe checkpoint saving (write to .tmp, then rename)
default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook'))
