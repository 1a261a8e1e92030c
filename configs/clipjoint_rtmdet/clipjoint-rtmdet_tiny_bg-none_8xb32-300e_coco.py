# Ablation: no background entry: InfoNCE on the positives only (no aux CE,
# whose target is the background entry).
_base_ = [
    './clipjoint-rtmdet_tiny_8xb32-300e_coco.py',
    '../_base_/clipjoint_ablations.py'
]

model = dict(bbox_head=_base_.clipjoint_ablations.bg_none)
