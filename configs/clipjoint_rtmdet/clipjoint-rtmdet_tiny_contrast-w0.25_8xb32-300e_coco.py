# Ablation: both contrastive terms 4x lighter than in main (InfoNCE 0.25,
# aux CE 0.125). On the synthetic CPU benchmark (short schedule, random text
# init) this was the variant that beat the stock detector; see
# docs/benchmark_accuracy.md.
_base_ = './clipjoint-rtmdet_tiny_8xb32-300e_coco.py'

model = dict(
    bbox_head=dict(
        loss_contrast=dict(loss_weight=0.25), loss_aux=dict(loss_weight=0.125)))
