# CLIP-Joint-Detect on YOLO11-m: the YOLO11-n config (same head and branch)
# at scale m, as configs/yolo11/yolo11_m_8xb16-600e_coco.py differs from
# the n one (widths, MixUp p = 0.15).
_base_ = './clipjoint-yolo11_n_8xb16-600e_coco.py'

model = _base_.yolo11_scales.m.model
train_dataloader = _base_.yolo11_scales.m.train_dataloader
