# Ablation (long tail): class temperatures initialised by the training set's
# boxes per class, tau_c = 0.07 * (n_c / geometric mean) ** 0.1, then trained
# (TextBankInitHook counts the boxes when training starts).
_base_ = [
    './clipjoint-yolo11_n_8xb16-600e_coco.py',
    '../_base_/clipjoint_ablations.py'
]

model = dict(bbox_head=_base_.clipjoint_ablations.freq_temp)
