# Ablation: inference with fused scores, p_det^0.5 * p_clip^0.5 (main: det).
_base_ = [
    './clipjoint-yolo11_n_8xb16-600e_coco.py',
    '../_base_/clipjoint_ablations.py'
]

model = dict(bbox_head=_base_.clipjoint_ablations.score_fuse)
