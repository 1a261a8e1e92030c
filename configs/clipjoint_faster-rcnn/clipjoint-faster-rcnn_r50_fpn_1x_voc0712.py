# CLIP-Joint-Detect on Faster R-CNN R50-FPN, Pascal VOC 07+12 (the paper's
# two-stage setting). Only the RoI head changes; everything else is stock.
_base_ = [
    'mmdet::pascal_voc/faster-rcnn_r50_fpn_1x_voc0712.py',
    '../_base_/clipjoint_branch.py'
]
custom_imports = dict(imports=['mmdet_clipjoint'], allow_failed_imports=False)

voc_text_bank = dict(
    _base_.clipjoint_text_bank,
    class_names='VOCDataset',
    prompt_aliases=dict(
        diningtable='dining table',
        pottedplant='potted plant',
        tvmonitor='tv monitor'))
model = dict(
    roi_head=dict(
        type='ClipJointRoIHead',
        bbox_head=dict(
            _base_.clipjoint_bbox_head,
            type='ClipJointBBoxHead',
            text_bank=voc_text_bank)))

optim_wrapper = _base_.clipjoint_optim_wrapper
custom_hooks = _base_.clipjoint_hooks
default_hooks = _base_.clipjoint_default_hooks
