# Ablation: no auxiliary cross-entropy term (InfoNCE only).
_base_ = './clipjoint-rtmdet_tiny_8xb32-300e_coco.py'

model = dict(bbox_head=dict(branch=dict(loss_aux=None)))
