# CLIP-Joint-Detect on YOLO11-s: the YOLO11-n config (same head and branch)
# at scale s, as configs/yolo11/yolo11_s_8xb16-600e_coco.py differs from
# the n one (widths, MixUp p = 0.05).
_base_ = './clipjoint-yolo11_n_8xb16-600e_coco.py'

model = _base_.yolo11_scales.s.model
train_dataloader = _base_.yolo11_scales.s.train_dataloader
