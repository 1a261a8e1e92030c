# CLIP-Joint-Detect on YOLOX-s, COCO 2017. Only the head changes: the stock
# YOLOXHead (SimOTA, cls / obj / IoU / L1 losses) plus the contrastive branch.
_base_ = 'mmdet::yolox/yolox_s_8xb8-300e_coco.py'
custom_imports = dict(imports=['mmdet_clipjoint'], allow_failed_imports=False)

model = dict(
    bbox_head=dict(
        type='ClipJointYOLOXHead',
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

# keep the stock YOLOXModeSwitchHook, SyncNormHook and EMAHook
custom_hooks = [
    *_base_.custom_hooks,
    dict(type='ClipJointHook'),
    dict(type='RNGStateHook')
]
# crash-safe checkpoint saving (write to .tmp, then rename)
default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook'))
