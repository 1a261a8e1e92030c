# Ablation: inference with the detector's scores only (branch skipped).
_base_ = './clipjoint-faster-rcnn_r50_fpn_1x_voc0712.py'

model = dict(roi_head=dict(bbox_head=dict(score_mode='det')))
