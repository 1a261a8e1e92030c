# Open-vocabulary-friendly bank: the text embeddings learn, but a drift
# penalty (weight 1, mean 1 - cos to their CLIP initialisation, logged as
# loss_text_drift) keeps them in CLIP space, so that names the model was not
# trained on, embedded by CLIP, still fit (mmdet_clipjoint.apis.
# set_vocabulary). Its closed-set cost: docs/open_vocabulary.md.
_base_ = [
    './clipjoint-rtmdet_tiny_8xb32-300e_coco.py',
    '../_base_/clipjoint_ablations.py'
]

model = dict(bbox_head=_base_.clipjoint_ablations.drift_w1)
