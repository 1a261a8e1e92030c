# Ablation: fixed temperature (0.07) instead of learned per-class ones.
_base_ = './clipjoint-yolox_s_8xb8-300e_coco.py'

model = dict(bbox_head=dict(text_bank=dict(learn_temperature=False)))
