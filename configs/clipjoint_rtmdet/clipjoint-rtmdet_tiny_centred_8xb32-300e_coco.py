# The CLIP text rows centred on the mean row of the 80 COCO names and
# renormalised (ContrastiveTextBank(centre='coco')): CLIP text sits in a
# narrow cone (pairwise cosines of COCO names 0.79-0.93); centring keeps the
# relative semantics and opens it. The centre is saved with the checkpoint,
# so set_vocabulary centres new names the same way. Measured on the semantic
# benchmark (arm clipjoint-centred): docs/benchmark_semantic.md.
_base_ = [
    './clipjoint-rtmdet_tiny_8xb32-300e_coco.py',
    '../_base_/clipjoint_ablations.py'
]

model = dict(bbox_head=_base_.clipjoint_ablations.centred)
