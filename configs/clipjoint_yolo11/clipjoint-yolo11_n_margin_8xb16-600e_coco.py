# Ablation (long tail, close CLIP rows): an additive cosine margin of 0.1 on
# each foreground region's own class while training (CosFace); inference
# unchanged.
_base_ = [
    './clipjoint-yolo11_n_8xb16-600e_coco.py',
    '../_base_/clipjoint_ablations.py'
]

model = dict(bbox_head=_base_.clipjoint_ablations.margin0_1)
