# Ablation: no background entry: the aux CE sees positives only; mined
# negatives remain negatives of InfoNCE's text -> region direction.
_base_ = './clipjoint-rtmdet_tiny_8xb32-300e_coco.py'

model = dict(bbox_head=dict(text_bank=dict(background=None)))
