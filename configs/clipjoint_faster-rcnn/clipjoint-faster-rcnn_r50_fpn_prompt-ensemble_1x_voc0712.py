# Ablation: 10-template prompt ensemble for the CLIP initialisation.
_base_ = './clipjoint-faster-rcnn_r50_fpn_1x_voc0712.py'

model = dict(
    roi_head=dict(
        bbox_head=dict(
            text_bank=dict(templates=[
                'a photo of a {}.', 'a photo of the {}.',
                'a photo of a small {}.', 'a photo of a large {}.',
                'a close-up photo of a {}.', 'a cropped photo of a {}.',
                'a bright photo of a {}.', 'a blurry photo of a {}.',
                'there is a {} in the scene.', 'an image of a {}.'
            ]))))
