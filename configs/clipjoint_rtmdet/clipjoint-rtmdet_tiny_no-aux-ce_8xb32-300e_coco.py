# Ablation: no auxiliary cross-entropy term (InfoNCE only).
_base_ = [
    './clipjoint-rtmdet_tiny_8xb32-300e_coco.py',
    '../_base_/clipjoint_ablations.py'
]

model = dict(bbox_head=_base_.clipjoint_ablations.no_aux_ce)
