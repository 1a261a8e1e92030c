# Ablation: loss-weight sweep, auxiliary CE (background RoIs) weight 0.5
# (main: 1.0, the same weight as InfoNCE on the foreground RoIs).
_base_ = [
    './clipjoint-faster-rcnn_r50_fpn_1x_voc0712.py',
    '../_base_/clipjoint_ablations.py'
]

model = dict(
    roi_head=dict(bbox_head=_base_.clipjoint_ablations.aux_w0_5))
