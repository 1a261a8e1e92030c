# Ablation: the CLIP text rows centred on the mean row of the 80 COCO names
# and renormalised (ContrastiveTextBank(centre='coco'); VOC's names are COCO
# rows). Measured on the semantic benchmark (arm clipjoint-centred):
# docs/benchmark_semantic.md.
_base_ = [
    './clipjoint-faster-rcnn_r50_fpn_1x_voc0712.py',
    '../_base_/clipjoint_ablations.py'
]

model = dict(roi_head=dict(bbox_head=_base_.clipjoint_ablations.centred))
