# Ablation: loss-weight sweep, InfoNCE weight 0.5 (main: 1.0).
_base_ = [
    './clipjoint-yolox_s_8xb8-300e_coco.py',
    '../_base_/clipjoint_ablations.py'
]

model = dict(bbox_head=_base_.clipjoint_ablations.contrast_w0_5)
