# Ablation: both branch terms logit-adjusted by the running label prior
# while training (Menon et al. 2021, tau = 1); inference unchanged.
_base_ = [
    './clipjoint-faster-rcnn_r50_fpn_1x_voc0712.py',
    '../_base_/clipjoint_ablations.py'
]

model = dict(
    roi_head=dict(bbox_head=_base_.clipjoint_ablations.logit_adjust))
