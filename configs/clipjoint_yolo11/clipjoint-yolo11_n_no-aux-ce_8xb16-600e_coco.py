# Ablation: no auxiliary cross-entropy term (InfoNCE only).
_base_ = './clipjoint-yolo11_n_8xb16-600e_coco.py'

model = dict(bbox_head=dict(branch=dict(loss_aux=None)))
