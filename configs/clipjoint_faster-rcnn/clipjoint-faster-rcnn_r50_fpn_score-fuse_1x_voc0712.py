# Ablation: inference with the fused scores p_det^0.5 * p_clip^0.5
# (main: the detector's scores only, the branch skipped).
_base_ = [
    './clipjoint-faster-rcnn_r50_fpn_1x_voc0712.py',
    '../_base_/clipjoint_ablations.py'
]

model = dict(
    roi_head=dict(bbox_head=_base_.clipjoint_ablations.score_fuse))
