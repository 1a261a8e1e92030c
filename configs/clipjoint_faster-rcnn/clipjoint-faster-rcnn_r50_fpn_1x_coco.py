# CLIP-Joint-Detect on Faster R-CNN R50-FPN, COCO 2017. Same head as the
# VOC config; the text bank takes COCO's 80 class names.
_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['mmdet_clipjoint'], allow_failed_imports=False)

model = dict(
    roi_head=dict(
        type='ClipJointRoIHead',
        bbox_head=dict(
            type='ClipJointBBoxHead',
            text_bank=dict(
                type='ContrastiveTextBank',
                class_names='CocoDataset',
                embed_dim=512,
                init_source='clip',
                clip_model='ViT-B-32',
                clip_pretrained='openai',
                templates=['a photo of a {}.'],
                background='learned',
                learnable=True,
                temperature=0.07,
                learn_temperature=True),
            proj_hidden=1024,
            loss_contrast=dict(type='InfoNCELoss', loss_weight=1.0),
            loss_aux=dict(
                type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.5),
            score_mode='det',  # measured: configs/clipjoint_faster-rcnn/README.md
            fuse_alpha=0.5)))

custom_hooks = [dict(type='ClipJointHook'), dict(type='RNGStateHook')]
# crash-safe checkpoint saving (write to .tmp, then rename)
default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook'))
