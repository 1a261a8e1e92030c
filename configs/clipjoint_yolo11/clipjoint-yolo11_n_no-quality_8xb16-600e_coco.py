# Ablation: every positive location weighs 1 in the contrastive losses
# (main: weighted by the assigner's IoU-based target score).
_base_ = [
    './clipjoint-yolo11_n_8xb16-600e_coco.py',
    '../_base_/clipjoint_ablations.py'
]

model = dict(bbox_head=_base_.clipjoint_ablations.no_quality)
