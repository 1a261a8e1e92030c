# Ablation: inference with the contrastive class distribution times the
# detector's foreground confidence (main: det).
_base_ = [
    './clipjoint-yolo11_n_8xb16-600e_coco.py',
    '../_base_/clipjoint_ablations.py'
]

model = dict(bbox_head=_base_.clipjoint_ablations.score_clip)
