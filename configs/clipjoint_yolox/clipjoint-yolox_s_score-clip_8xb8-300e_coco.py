# Ablation: inference with the contrastive class distribution times the
# detector's class confidence (main: det); objectness still multiplies it.
_base_ = './clipjoint-yolox_s_8xb8-300e_coco.py'

model = dict(bbox_head=dict(score_mode='clip'))
