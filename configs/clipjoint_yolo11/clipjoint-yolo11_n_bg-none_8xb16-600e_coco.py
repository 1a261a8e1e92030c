# Ablation: no background entry: InfoNCE on the positives only (no aux CE,
# whose target is the background entry).
_base_ = './clipjoint-yolo11_n_8xb16-600e_coco.py'

model = dict(
    bbox_head=dict(
        text_bank=dict(background=None), branch=dict(loss_aux=None)))
