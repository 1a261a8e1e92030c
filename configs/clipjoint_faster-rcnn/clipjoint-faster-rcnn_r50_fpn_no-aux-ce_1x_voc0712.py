# Ablation: no auxiliary cross-entropy term (InfoNCE only).
_base_ = './clipjoint-faster-rcnn_r50_fpn_1x_voc0712.py'

model = dict(roi_head=dict(bbox_head=dict(branch=dict(loss_aux=None))))
