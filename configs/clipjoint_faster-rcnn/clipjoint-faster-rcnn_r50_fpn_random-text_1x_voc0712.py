# Ablation: random instead of CLIP-initialised text embeddings.
_base_ = './clipjoint-faster-rcnn_r50_fpn_1x_voc0712.py'

model = dict(
    roi_head=dict(bbox_head=dict(text_bank=dict(init_source='random'))))
