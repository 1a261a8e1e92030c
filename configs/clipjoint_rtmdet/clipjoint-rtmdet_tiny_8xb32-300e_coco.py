# CLIP-Joint-Detect on RTMDet-tiny, COCO 2017 (the paper's one-stage
# setting, with RTMDet in place of YOLOv11). Only the head changes: the
# stock RTMDetSepBNHead plus the contrastive branch; everything else is stock.
_base_ = [
    'mmdet::rtmdet/rtmdet_tiny_8xb32-300e_coco.py',
    '../_base_/clipjoint_branch.py'
]
custom_imports = dict(imports=['mmdet_clipjoint'], allow_failed_imports=False)

model = dict(
    bbox_head=dict(_base_.clipjoint_dense_head, type='ClipJointRTMDetHead'))

optim_wrapper = _base_.clipjoint_optim_wrapper
# keep the stock EMAHook and PipelineSwitchHook
custom_hooks = [*_base_.custom_hooks, *_base_.clipjoint_hooks]
default_hooks = _base_.clipjoint_default_hooks
