# Ablation: random instead of CLIP-initialised text embeddings.
_base_ = './clipjoint-yolox_s_8xb8-300e_coco.py'

model = dict(bbox_head=dict(text_bank=dict(init_source='random')))
