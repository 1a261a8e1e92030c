# ClipJoint RTMDet-tiny with DetCLIPv2's word-region alignment, trained on
# boxes AND captions of the synthetic open-vocabulary set (docs/
# open_vocabulary.md): box labels for 6 of the 9 colour x shape classes,
# captions that mention all 9, box AP on all 9 at validation (the 3 without
# any training box are zero-shot).
#
# * The text bank is a PhraseTextBank: each class name is a phrase of a
#   learnable concept-word table (ConceptWordTable; its words are those of
#   the class names), so box labels and captions both train the *words*
#   ("red", "square"), and "red square" is a class although no box says so.
# * Caption batches (CaptionPhraseDataset, every other batch) go to the
#   head's word-region loss: regions = the 16 locations the detector is
#   most confident about, s(I, T) = mean over the caption's phrases of the
#   best region's cosine, InfoNCE over the batch's pairs.
# * Scores: `clip` (the detector says where an object is, the bank which
#   of the 9 phrases): the detector's own classifier has no box of the
#   unseen classes to learn from.
#
# Generate the data first (default place):
#   python tools/make_synthetic_dataset.py data/synthetic_open_vocab \
#       --captions --num-train 600 --num-caption-train 600 --num-val 150
_base_ = [
    '../clipjoint_rtmdet/clipjoint-rtmdet_tiny_8xb32-300e_coco.py',
    '../_base_/datasets/synthetic_open_vocab.py'
]
custom_imports = dict(imports=['mmdet_clipjoint'], allow_failed_imports=False)

model = dict(
    type='HybridRTMDet',
    bbox_head=dict(
        _base_.clipjoint_word_region,
        num_classes=9,
        # words initialised at random: no shipped CLIP vocabulary names
        # colours or these shapes
        text_bank=dict(
            _base_.clipjoint_phrase_text_bank,
            _delete_=True,
            class_names=_base_.ov_classes)))

train_dataloader = dict(_base_.ov_train_dataloader, _delete_=True)
val_dataloader = dict(_base_.ov_val_dataloader, _delete_=True)
test_dataloader = val_dataloader
val_evaluator = dict(_base_.ov_val_evaluator, _delete_=True)
test_evaluator = val_evaluator

max_epochs = 30
train_cfg = dict(
    _delete_=True, type='EpochBasedTrainLoop', max_epochs=max_epochs,
    val_interval=10)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0,
         end=200),
    dict(type='CosineAnnealingLR', eta_min=2e-4, begin=max_epochs // 2,
         end=max_epochs, T_max=max_epochs // 2, by_epoch=True,
         convert_to_iter_based=True)
]
# the concept words start at random and are learned like any weight
optim_wrapper = dict(
    optimizer=dict(lr=0.004),
    paramwise_cfg=dict(custom_keys={
        'text_bank.phrase_encoder.weight': dict(lr_mult=1.0, decay_mult=0.0)
    }))
auto_scale_lr = dict(enable=False, base_batch_size=16)
# no PipelineSwitchHook: the stock stage-2 pipeline is COCO's
custom_hooks = [
    dict(type='EMAHook', ema_type='ExpMomentumEMA', momentum=0.0002,
         update_buffers=True, priority=49),
    *_base_.clipjoint_hooks
]
