# CLIP-Joint-Detect on Faster R-CNN R50-FPN, Pascal VOC 07+12 (the paper's
# two-stage setting). Only the RoI head changes; everything else is stock.
_base_ = 'mmdet::pascal_voc/faster-rcnn_r50_fpn_1x_voc0712.py'
custom_imports = dict(imports=['mmdet_clipjoint'], allow_failed_imports=False)

model = dict(
    roi_head=dict(
        type='ClipJointRoIHead',
        bbox_head=dict(
            type='ClipJointBBoxHead',
            text_bank=dict(
                type='ContrastiveTextBank',
                class_names='VOCDataset',
                prompt_aliases=dict(
                    diningtable='dining table', pottedplant='potted plant',
                    tvmonitor='tv monitor'),
                embed_dim=512,
                init_source='clip',  # OpenAI ViT-B/32, as in the paper
                clip_model='ViT-B-32',
                clip_pretrained='openai',  # or a local checkpoint path
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
