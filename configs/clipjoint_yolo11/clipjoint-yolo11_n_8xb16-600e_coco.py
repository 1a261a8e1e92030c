# CLIP-Joint-Detect on YOLO11-n, COCO 2017: the paper's one-stage setting.
# Only the head changes: YOLO11's head plus the contrastive branch on the
# class branch's last feature (the classifier's input); everything else is
# the stock YOLO11 recipe (configs/yolo11/).
_base_ = [
    '../yolo11/yolo11_n_8xb16-600e_coco.py', '../_base_/clipjoint_branch.py'
]

model = dict(
    bbox_head=dict(_base_.clipjoint_dense_head, type='ClipJointYOLOHead'))

optim_wrapper = _base_.clipjoint_optim_wrapper
# keep the stock EMAHook and PipelineSwitchHook
custom_hooks = [*_base_.custom_hooks, *_base_.clipjoint_hooks]
default_hooks = _base_.clipjoint_default_hooks
