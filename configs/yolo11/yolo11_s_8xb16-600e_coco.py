# YOLO11-s: the n recipe at scale s (width 0.50), MixUp with p = 0.05.
_base_ = './yolo11_n_8xb16-600e_coco.py'

model = _base_.yolo11_scales.s.model
train_dataloader = _base_.yolo11_scales.s.train_dataloader
