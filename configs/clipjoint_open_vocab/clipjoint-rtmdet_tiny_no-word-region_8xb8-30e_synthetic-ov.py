# Ablation: the same hybrid run with the word-region loss weighted 0 (the
# caption batches still come, so the detection batches are the same); the
# concept words learn from the box labels alone.
_base_ = './clipjoint-rtmdet_tiny_word-region_8xb8-30e_synthetic-ov.py'

model = dict(bbox_head=dict(loss_word_region=dict(loss_weight=0.0)))
