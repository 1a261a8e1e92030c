# CLIP-Joint-Detect on Faster R-CNN R50-FPN, COCO 2017. Same head as the
# VOC config; the text bank takes COCO's 80 class names.
_base_ = [
    'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py',
    '../_base_/clipjoint_branch.py'
]
custom_imports = dict(imports=['mmdet_clipjoint'], allow_failed_imports=False)

model = dict(
    roi_head=dict(
        type='ClipJointRoIHead',
        bbox_head=dict(_base_.clipjoint_bbox_head, type='ClipJointBBoxHead')))

optim_wrapper = _base_.clipjoint_optim_wrapper
custom_hooks = _base_.clipjoint_hooks
default_hooks = _base_.clipjoint_default_hooks
