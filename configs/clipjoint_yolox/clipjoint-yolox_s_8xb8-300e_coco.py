# CLIP-Joint-Detect on YOLOX-s, COCO 2017. Only the head changes: the stock
# YOLOXHead (SimOTA, cls / obj / IoU / L1 losses) plus the contrastive branch.
_base_ = [
    'mmdet::yolox/yolox_s_8xb8-300e_coco.py', '../_base_/clipjoint_branch.py'
]
custom_imports = dict(imports=['mmdet_clipjoint'], allow_failed_imports=False)

model = dict(
    bbox_head=dict(_base_.clipjoint_dense_head, type='ClipJointYOLOXHead'))

optim_wrapper = _base_.clipjoint_optim_wrapper
# keep the stock YOLOXModeSwitchHook, SyncNormHook and EMAHook
custom_hooks = [*_base_.custom_hooks, *_base_.clipjoint_hooks]
default_hooks = _base_.clipjoint_default_hooks
