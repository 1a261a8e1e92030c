# Ablation: text embeddings frozen at their CLIP initialisation.
_base_ = './clipjoint-rtmdet_tiny_8xb32-300e_coco.py'

model = dict(bbox_head=dict(text_bank=dict(learnable=False)))
