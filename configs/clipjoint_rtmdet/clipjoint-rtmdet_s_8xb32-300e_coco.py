# CLIP-Joint-Detect on RTMDet-s, COCO 2017 (the paper's one-stage
# setting, with RTMDet in place of YOLOv11). Only the head changes: the
# stock RTMDetSepBNHead plus the contrastive branch; everything else is stock.
_base_ = 'mmdet::rtmdet/rtmdet_s_8xb32-300e_coco.py'
custom_imports = dict(imports=['mmdet_clipjoint'], allow_failed_imports=False)

model = dict(
    bbox_head=dict(
        type='ClipJointYOLOHead',
        text_bank=dict(
            type='ContrastiveTextBank',
            class_names='CocoDataset',
            embed_dim=512,
            init_source='clip',  # OpenAI ViT-B/32, as in the paper
            clip_model='ViT-B-32',
            clip_pretrained='openai',  # or a local checkpoint path
            templates=['a photo of a {}.'],
            background='learned',  # target of the mined negatives' aux CE
            learnable=True,
            temperature=0.07,
            learn_temperature=True),
        proj_hidden=256,
        loss_contrast=dict(type='InfoNCELoss', loss_weight=1.0),
        loss_aux=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.5),
        quality_weight=True,
        neg_pos_ratio=3,
        score_mode='det',  # zero inference cost; see README.md
        fuse_alpha=0.5))

# keep the stock EMAHook and PipelineSwitchHook
custom_hooks = [
    *_base_.custom_hooks,
    dict(type='ClipJointHook'),
    dict(type='RNGStateHook')
]
# crash-safe checkpoint saving (write to .tmp, then rename)
default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook'))
