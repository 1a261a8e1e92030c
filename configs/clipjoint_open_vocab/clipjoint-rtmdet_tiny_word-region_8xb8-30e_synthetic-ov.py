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
# Everything but the head, the captions and the bank's optimizer settings is
# the stock twin's (same data, schedule and EMA).
_base_ = [
    './rtmdet_tiny_boxes-only_8xb8-30e_synthetic-ov.py',
    '../_base_/clipjoint_branch.py'
]

model = dict(
    type='HybridRTMDet',
    bbox_head=dict(
        _base_.clipjoint_dense_head,
        **_base_.clipjoint_word_region,
        type='ClipJointRTMDetHead',
        num_classes=9,
        # words initialised at random: no shipped CLIP vocabulary names
        # colours or these shapes
        text_bank=dict(
            _base_.clipjoint_phrase_text_bank,
            class_names=_base_.ov_classes)))

# detection and caption batches
train_dataloader = dict(_base_.ov_train_dataloader, _delete_=True)

# the concept words start at random and are learned like any weight
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={
    **_base_.clipjoint_paramwise_keys,
    'text_bank.phrase_encoder.weight': dict(lr_mult=1.0, decay_mult=0.0)
}))
custom_hooks = [*_base_.custom_hooks, *_base_.clipjoint_hooks]
default_hooks = _base_.clipjoint_default_hooks
