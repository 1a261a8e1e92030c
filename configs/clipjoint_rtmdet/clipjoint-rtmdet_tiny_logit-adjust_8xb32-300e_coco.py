# Ablation: both branch terms logit-adjusted by the running label prior
# while training (Menon et al. 2021, tau = 1); inference unchanged.
_base_ = [
    './clipjoint-rtmdet_tiny_8xb32-300e_coco.py',
    '../_base_/clipjoint_ablations.py'
]

model = dict(bbox_head=_base_.clipjoint_ablations.logit_adjust)
