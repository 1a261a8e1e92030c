# Ablation: both contrastive terms 4x lighter than in main (InfoNCE and aux
# CE 0.25 each).
_base_ = [
    './clipjoint-rtmdet_tiny_8xb32-300e_coco.py',
    '../_base_/clipjoint_ablations.py'
]

model = dict(bbox_head=_base_.clipjoint_ablations.contrast_w0_25)
