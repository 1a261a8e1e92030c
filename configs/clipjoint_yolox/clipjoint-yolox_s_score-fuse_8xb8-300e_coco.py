# Ablation: inference with fused class scores, p_det^0.5 * p_clip^0.5
# (main: det); the objectness still multiplies them.
_base_ = [
    './clipjoint-yolox_s_8xb8-300e_coco.py',
    '../_base_/clipjoint_ablations.py'
]

model = dict(bbox_head=_base_.clipjoint_ablations.score_fuse)
