# Ablation: random instead of CLIP-initialised text embeddings.
_base_ = './clipjoint-yolo11_n_8xb16-600e_coco.py'

model = dict(bbox_head=dict(text_bank=dict(init_source='random')))
