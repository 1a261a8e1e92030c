# Ablation: symmetric InfoNCE (adds text -> region over the sampled
# locations, gathered across ranks).
_base_ = [
    './clipjoint-rtmdet_tiny_8xb32-300e_coco.py',
    '../_base_/clipjoint_ablations.py'
]

model = dict(bbox_head=_base_.clipjoint_ablations.symmetric)
