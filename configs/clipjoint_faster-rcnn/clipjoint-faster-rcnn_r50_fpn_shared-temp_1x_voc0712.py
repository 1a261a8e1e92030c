# Ablation: one learned temperature shared by all classes (cosine-classifier
# convention) instead of the paper's class-specific ones.
_base_ = [
    './clipjoint-faster-rcnn_r50_fpn_1x_voc0712.py',
    '../_base_/clipjoint_ablations.py'
]

model = dict(
    roi_head=dict(bbox_head=_base_.clipjoint_ablations.shared_temp))
