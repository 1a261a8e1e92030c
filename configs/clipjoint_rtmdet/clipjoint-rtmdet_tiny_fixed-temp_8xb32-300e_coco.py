# Ablation: fixed temperature (0.07) instead of learned per-class ones.
_base_ = './clipjoint-rtmdet_tiny_8xb32-300e_coco.py'

model = dict(bbox_head=dict(text_bank=dict(learn_temperature=False)))
