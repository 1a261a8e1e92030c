# What every ClipJoint config shares: the text bank, the branch (projection,
# losses and gradient bound), the heads' arguments, the bank's optimizer
# settings and the hooks. A main config inherits a stock mmdet config *and* this file, and
# plugs the pieces in (the stock keys cannot be set here: two bases may not
# set the same key):
#   model = dict(bbox_head=dict(_base_.clipjoint_dense_head,
#                               type='ClipJointRTMDetHead'))
#   optim_wrapper = _base_.clipjoint_optim_wrapper
#   custom_hooks = [*_base_.custom_hooks, *_base_.clipjoint_hooks]
#   default_hooks = _base_.clipjoint_default_hooks
# Defaults chosen on the synthetic benchmark: docs/benchmark_accuracy.md.
# No `custom_imports` here: the main config sets it (a stock base of ours,
# configs/yolo11/, sets it too, and two bases may not set the same key).

# class_names: a list, or 'CocoDataset' / 'VOCDataset' (the head pieces below
# use COCO's; a config on another dataset replaces their text_bank)
clipjoint_text_bank = dict(
    type='ContrastiveTextBank',
    embed_dim=512,
    # real CLIP (OpenAI ViT-B/32, as in the paper) text embeddings of the
    # class names, shipped with the package: offline, no CLIP weights
    # (prompt "a {}"; init_source='clip' encodes live with `templates`)
    init_source='vocabulary',
    vocabulary='coco',  # serves COCO and VOC names ('lvis', 'objects365')
    clip_model='ViT-B-32',
    clip_pretrained='openai',  # or a local checkpoint path
    templates=['a photo of a {}.'],
    background='learned',  # target of the background samples' aux CE
    learnable=True,
    temperature=0.07,
    learn_temperature=True,
    shared_temperature=False)  # the paper's class-specific temperatures

# The contrastive branch every ClipJoint head owns (`branch=dict(...)`, a
# ContrastiveBranch: projection MLP, the text bank given as the head's
# `text_bank`, the two losses). One CE per sampled region on the contrastive
# logits, normalised like the host's loss_cls: InfoNCE for the foreground,
# the aux CE for the background (towards the bank's background entry). The
# branch's gradient into the shared trunk is at most max_grad_share x the
# detector's own at the fork. A child config changes one of them under
# `branch`: model = dict(bbox_head=dict(branch=dict(loss_aux=None))).
# `logit_adjust` (default 0: off) adds tau * log(prior) to the training
# logits of both terms, the prior counted over the samples trained so far
# (the long-tail ablation `logit_adjust`, clipjoint_ablations.py).
clipjoint_branch = dict(
    type='ContrastiveBranch',
    loss_contrast=dict(type='InfoNCELoss', symmetric=False, loss_weight=1.0),
    loss_aux=dict(
        type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
    max_grad_share=1.0)

# The arguments of a one-stage head (ClipJointRTMDetHead, ClipJointYOLOXHead,
# ClipJointYOLOHead on YOLO11): every positive location weighted by its
# IoU-based target score, 3 mined hard negatives per positive. The text bank
# (the label space, with num_classes) is a head key.
clipjoint_dense_head = dict(
    text_bank=dict(clipjoint_text_bank, class_names='CocoDataset'),
    branch=dict(clipjoint_branch, proj_hidden=256),
    quality_weight=True,
    neg_pos_ratio=3,
    score_mode='det',  # zero inference cost
    fuse_alpha=0.5)

# The arguments of the two-stage ClipJointBBoxHead (the 1024-d RoI feature).
clipjoint_bbox_head = dict(
    text_bank=dict(clipjoint_text_bank, class_names='CocoDataset'),
    branch=dict(clipjoint_branch, proj_hidden=1024),
    score_mode='det',  # zero inference cost
    fuse_alpha=0.5)

# Text embeddings and temperatures are not ordinary weights: no weight decay
# (AdamW's decoupled decay would pull tau towards 1 and the embeddings to 0),
# and the embeddings learn 100x slower so that a CLIP initialisation is kept
# (YOLO-World: text lr x 0.01, no decay on embeddings and logit scale).
clipjoint_paramwise_keys = {
    'text_bank.embeddings': dict(lr_mult=0.01, decay_mult=0.0),
    'text_bank.bg_embedding': dict(lr_mult=0.01, decay_mult=0.0),
    'text_bank.log_scale': dict(lr_mult=1.0, decay_mult=0.0),
}
clipjoint_optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys=clipjoint_paramwise_keys))

# crash-safe checkpoint saving (write to .tmp, then rename)
clipjoint_default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook'))

clipjoint_hooks = [dict(type='TextBankInitHook'), dict(type='RNGStateHook')]

# open vocabulary (configs/clipjoint_open_vocab/, DetCLIPv2): class names
# as phrases of a learnable concept-word table (its words: those of the
# class names) and the word-region loss of caption batches; give the bank
# `class_names`
clipjoint_phrase_text_bank = dict(
    type='PhraseTextBank',
    phrase_encoder=dict(type='ConceptWordTable', seed=0),
    embed_dim=512,
    background='learned',
    temperature=0.07,
    learn_temperature=True)
clipjoint_word_region = dict(
    loss_word_region=dict(
        type='WordRegionAlignmentLoss', temperature=0.07, loss_weight=1.0),
    caption_topk=16,  # regions per caption image
    score_mode='clip')
