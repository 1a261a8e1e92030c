# Ablation: loss-weight sweep, InfoNCE weight 0.5 (main: 1.0).
_base_ = './clipjoint-yolox_s_8xb8-300e_coco.py'

model = dict(
    bbox_head=dict(branch=dict(loss_contrast=dict(loss_weight=0.5))))
