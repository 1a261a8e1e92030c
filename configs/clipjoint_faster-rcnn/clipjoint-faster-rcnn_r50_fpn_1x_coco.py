# CLIP-Joint-Detect on Faster R-CNN R50-FPN, COCO 2017. Same head as the
# VOC config; the text bank takes COCO's 80 class names.
_base_ = [
    'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py',
    '../_base_/clipjoint_branch.py'
]

model = dict(
    roi_head=dict(
        type='ClipJointRoIHead',
        bbox_head=dict(
            type='ClipJointBBoxHead',
            text_bank=dict(
                _base_.clipjoint_text_bank, class_names='CocoDataset'),
            proj_hidden=1024,
            **_base_.clipjoint_branch)))

optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys=_base_.clipjoint_paramwise_keys))
custom_hooks = _base_.clipjoint_hooks
# crash-safe checkpoint saving (write to .tmp, then rename)
default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook'))
