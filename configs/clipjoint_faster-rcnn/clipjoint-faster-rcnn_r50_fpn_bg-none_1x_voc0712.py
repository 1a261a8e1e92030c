# Ablation: no background entry: InfoNCE on the foreground RoIs only (no aux
# CE, whose target is the background entry); the detector's background
# probability is used at inference.
_base_ = [
    './clipjoint-faster-rcnn_r50_fpn_1x_voc0712.py',
    '../_base_/clipjoint_ablations.py'
]

model = dict(
    roi_head=dict(bbox_head=_base_.clipjoint_ablations.bg_none))
