# Ablation: no auxiliary cross-entropy term (InfoNCE only).
_base_ = './clipjoint-yolox_s_8xb8-300e_coco.py'

model = dict(bbox_head=dict(branch=dict(loss_aux=None)))
