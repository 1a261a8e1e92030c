# Ablation: no background entry: InfoNCE on the foreground RoIs only (no aux
# CE, whose target is the background entry); the detector's background
# probability is used at inference.
_base_ = './clipjoint-faster-rcnn_r50_fpn_1x_voc0712.py'

model = dict(
    roi_head=dict(
        bbox_head=dict(
            text_bank=dict(background=None), branch=dict(loss_aux=None))))
