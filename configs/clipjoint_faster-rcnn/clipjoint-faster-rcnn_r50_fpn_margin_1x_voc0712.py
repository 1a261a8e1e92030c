# Ablation (long tail, close CLIP rows): an additive cosine margin of 0.1 on
# each foreground region's own class while training (CosFace); inference
# unchanged.
_base_ = [
    './clipjoint-faster-rcnn_r50_fpn_1x_voc0712.py',
    '../_base_/clipjoint_ablations.py'
]

model = dict(
    roi_head=dict(bbox_head=_base_.clipjoint_ablations.margin0_1))
