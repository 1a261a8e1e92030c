# YOLO11-m: width 1.00 with at most 512 channels, C3k blocks everywhere,
# MixUp with p = 0.15.
_base_ = './yolo11_n_8xb16-600e_coco.py'

model = _base_.yolo11_scales.m.model
train_dataloader = _base_.yolo11_scales.m.train_dataloader
