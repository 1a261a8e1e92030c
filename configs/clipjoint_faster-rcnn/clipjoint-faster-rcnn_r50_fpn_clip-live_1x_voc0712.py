# Ablation: the text bank encoded live with open_clip and the paper's prompt
# "a photo of a {}." (main: the shipped embeddings, prompt "a {}"). Needs the
# CLIP weights: a pretrained tag open_clip can fetch, or a local checkpoint
# in clip_pretrained.
_base_ = [
    './clipjoint-faster-rcnn_r50_fpn_1x_voc0712.py',
    '../_base_/clipjoint_ablations.py'
]

model = dict(
    roi_head=dict(bbox_head=_base_.clipjoint_ablations.clip_live))
