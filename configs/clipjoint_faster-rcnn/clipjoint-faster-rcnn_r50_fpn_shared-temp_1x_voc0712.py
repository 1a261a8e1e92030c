# Ablation: one learned temperature shared by all classes (cosine-classifier
# convention) instead of the paper's class-specific ones.
_base_ = './clipjoint-faster-rcnn_r50_fpn_1x_voc0712.py'

model = dict(
    roi_head=dict(bbox_head=dict(text_bank=dict(shared_temperature=True))))
