# Ablation: random instead of CLIP-initialised text embeddings.
_base_ = [
    './clipjoint-yolox_s_8xb8-300e_coco.py',
    '../_base_/clipjoint_ablations.py'
]

model = dict(bbox_head=_base_.clipjoint_ablations.random_text)
