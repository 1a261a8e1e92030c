# Ablation: inference with the contrastive class distribution times the
# detector's foreground confidence (main: det).
_base_ = './clipjoint-rtmdet_tiny_8xb32-300e_coco.py'

model = dict(bbox_head=dict(score_mode='clip'))
