# Ablation: no background entry: InfoNCE on the positives only (no aux CE,
# whose target is the background entry).
_base_ = [
    './clipjoint-yolo11_n_8xb16-600e_coco.py',
    '../_base_/clipjoint_ablations.py'
]

model = dict(bbox_head=_base_.clipjoint_ablations.bg_none)
