# Ablation: no bound on the branch's gradient into the shared trunk (main:
# at most 1x the host classifier's gradient at the classifier feature).
_base_ = [
    './clipjoint-yolo11_n_8xb16-600e_coco.py',
    '../_base_/clipjoint_ablations.py'
]

model = dict(bbox_head=_base_.clipjoint_ablations.no_grad_bound)
