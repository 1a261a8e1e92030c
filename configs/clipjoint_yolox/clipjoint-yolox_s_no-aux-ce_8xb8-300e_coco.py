# Ablation: no auxiliary cross-entropy term (InfoNCE only).
_base_ = [
    './clipjoint-yolox_s_8xb8-300e_coco.py',
    '../_base_/clipjoint_ablations.py'
]

model = dict(bbox_head=_base_.clipjoint_ablations.no_aux_ce)
