# Ablation: both contrastive terms 4x lighter than in main (InfoNCE and aux
# CE 0.25 each).
_base_ = './clipjoint-rtmdet_tiny_8xb32-300e_coco.py'

model = dict(
    bbox_head=dict(
        branch=dict(
            loss_contrast=dict(loss_weight=0.25),
            loss_aux=dict(loss_weight=0.25))))
