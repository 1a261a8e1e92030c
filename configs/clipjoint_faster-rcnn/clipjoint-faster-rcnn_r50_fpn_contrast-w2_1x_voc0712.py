# Ablation: loss-weight sweep, InfoNCE weight 2.0 (main: 1.0).
_base_ = './clipjoint-faster-rcnn_r50_fpn_1x_voc0712.py'

model = dict(
    roi_head=dict(
        bbox_head=dict(branch=dict(loss_contrast=dict(loss_weight=2.0)))))
