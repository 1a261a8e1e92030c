# Ablation: text embeddings frozen at their CLIP initialisation.
_base_ = './clipjoint-yolox_s_8xb8-300e_coco.py'

model = dict(bbox_head=dict(text_bank=dict(learnable=False)))
