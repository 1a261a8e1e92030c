# Ablation: inference with the contrastive class distribution times the
# detector's class confidence (main: det); objectness still multiplies it.
_base_ = [
    './clipjoint-yolox_s_8xb8-300e_coco.py',
    '../_base_/clipjoint_ablations.py'
]

model = dict(bbox_head=_base_.clipjoint_ablations.score_clip)
