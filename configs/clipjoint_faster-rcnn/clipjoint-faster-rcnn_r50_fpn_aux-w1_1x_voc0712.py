# Ablation: loss-weight sweep, auxiliary CE weight 1.0 (main: 0.5).
_base_ = './clipjoint-faster-rcnn_r50_fpn_1x_voc0712.py'

model = dict(roi_head=dict(bbox_head=dict(loss_aux=dict(loss_weight=1.0))))
