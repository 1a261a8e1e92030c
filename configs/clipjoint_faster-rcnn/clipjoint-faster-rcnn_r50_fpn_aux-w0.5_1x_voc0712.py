# Ablation: loss-weight sweep, auxiliary CE (background RoIs) weight 0.5
# (main: 1.0, the same weight as InfoNCE on the foreground RoIs).
_base_ = './clipjoint-faster-rcnn_r50_fpn_1x_voc0712.py'

model = dict(
    roi_head=dict(
        bbox_head=dict(branch=dict(loss_aux=dict(loss_weight=0.5)))))
