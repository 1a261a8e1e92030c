# Ablation: no bound on the branch's gradient into the shared trunk (main:
# at most 1x the host classifier's gradient at the classifier feature).
_base_ = './clipjoint-rtmdet_tiny_8xb32-300e_coco.py'

model = dict(bbox_head=dict(branch=dict(max_grad_share=None)))
