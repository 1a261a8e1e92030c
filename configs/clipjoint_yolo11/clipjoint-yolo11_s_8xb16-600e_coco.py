# CLIP-Joint-Detect on YOLO11-s: the YOLO11-n config (same head and branch)
# at scale s, as configs/yolo11/yolo11_s_8xb16-600e_coco.py differs from
# the n one (widths, MixUp p = 0.05).
_base_ = './clipjoint-yolo11_n_8xb16-600e_coco.py'

arch = 's'
mixup_prob = 0.05
model = dict(
    backbone=dict(arch=arch),
    neck=dict(arch=arch),
    bbox_head=dict(in_channels=(128, 256, 512)))
train_dataloader = dict(dataset=dict(pipeline=[
    *_base_.train_pipeline[:4],
    dict(_base_.train_pipeline[4], prob=mixup_prob),
    *_base_.train_pipeline[5:]
]))
