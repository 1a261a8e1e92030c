# Ablation: both contrastive terms 4x lighter than in main (InfoNCE and aux
# CE 0.25 each).
_base_ = './clipjoint-yolo11_n_8xb16-600e_coco.py'

model = dict(
    bbox_head=dict(
        branch=dict(
            loss_contrast=dict(loss_weight=0.25),
            loss_aux=dict(loss_weight=0.25))))
