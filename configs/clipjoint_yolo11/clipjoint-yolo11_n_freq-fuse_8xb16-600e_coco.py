# Ablation (long tail): fused scores weighted by class frequency: class c
# weighs the branch by 1 - 0.5 * (n_c / n_max) ** 0.25 (the training counts
# the text bank recorded when training started).
_base_ = [
    './clipjoint-yolo11_n_8xb16-600e_coco.py',
    '../_base_/clipjoint_ablations.py'
]

model = dict(bbox_head=_base_.clipjoint_ablations.score_fuse_freq)
