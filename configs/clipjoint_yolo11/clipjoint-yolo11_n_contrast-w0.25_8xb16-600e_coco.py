# Ablation: both contrastive terms 4x lighter than in main (InfoNCE and aux
# CE 0.25 each).
_base_ = [
    './clipjoint-yolo11_n_8xb16-600e_coco.py',
    '../_base_/clipjoint_ablations.py'
]

model = dict(bbox_head=_base_.clipjoint_ablations.contrast_w0_25)
