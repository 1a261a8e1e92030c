# Ablation: 10-template prompt ensemble for the CLIP initialisation, encoded
# live with open_clip (needs the CLIP weights: a pretrained tag open_clip can
# fetch, or a local checkpoint in clip_pretrained).
_base_ = './clipjoint-faster-rcnn_r50_fpn_1x_voc0712.py'

model = dict(
    roi_head=dict(
        bbox_head=dict(
            text_bank=dict(init_source='clip', templates=[
                'a photo of a {}.', 'a photo of the {}.',
                'a photo of a small {}.', 'a photo of a large {}.',
                'a close-up photo of a {}.', 'a cropped photo of a {}.',
                'a bright photo of a {}.', 'a blurry photo of a {}.',
                'there is a {} in the scene.', 'an image of a {}.'
            ]))))
