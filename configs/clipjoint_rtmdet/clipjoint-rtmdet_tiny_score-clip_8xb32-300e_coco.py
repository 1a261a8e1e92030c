# Ablation: inference with the contrastive class distribution times the
# detector's foreground confidence (main: det).
_base_ = [
    './clipjoint-rtmdet_tiny_8xb32-300e_coco.py',
    '../_base_/clipjoint_ablations.py'
]

model = dict(bbox_head=_base_.clipjoint_ablations.score_clip)
