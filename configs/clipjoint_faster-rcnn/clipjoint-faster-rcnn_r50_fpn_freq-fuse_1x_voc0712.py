# Ablation (long tail): fused scores weighted by class frequency: class c
# weighs the branch by 1 - 0.5 * (n_c / n_max) ** 0.25 (the training counts
# the text bank recorded when training started).
_base_ = [
    './clipjoint-faster-rcnn_r50_fpn_1x_voc0712.py',
    '../_base_/clipjoint_ablations.py'
]

model = dict(
    roi_head=dict(bbox_head=_base_.clipjoint_ablations.score_fuse_freq))
