# Ablation: fixed temperature (0.07) instead of learned per-class ones.
_base_ = [
    './clipjoint-yolo11_n_8xb16-600e_coco.py',
    '../_base_/clipjoint_ablations.py'
]

model = dict(bbox_head=_base_.clipjoint_ablations.fixed_temp)
