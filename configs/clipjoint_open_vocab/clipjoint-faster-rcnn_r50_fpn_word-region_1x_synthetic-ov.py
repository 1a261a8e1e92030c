# ClipJoint Faster R-CNN with DetCLIPv2's word-region alignment on boxes +
# captions of the synthetic open-vocabulary set: the two-stage twin of
# clipjoint-rtmdet_tiny_word-region_8xb8-30e_synthetic-ov.py. A caption
# image's regions are its 16 best RPN proposals (no RPN loss on it), embedded
# by the box head's branch; the text bank is a PhraseTextBank over a
# learnable concept-word table; scores in `clip` mode.
_base_ = [
    '../clipjoint_faster-rcnn/clipjoint-faster-rcnn_r50_fpn_1x_coco.py',
    '../_base_/datasets/synthetic_open_vocab.py'
]
custom_imports = dict(imports=['mmdet_clipjoint'], allow_failed_imports=False)

model = dict(
    type='HybridFasterRCNN',
    roi_head=dict(
        bbox_head=dict(
            _base_.clipjoint_word_region,
            num_classes=9,
            text_bank=dict(
                _base_.clipjoint_phrase_text_bank,
                _delete_=True,
                class_names=_base_.ov_classes))))

train_dataloader = dict(_base_.ov_train_dataloader, _delete_=True)
val_dataloader = dict(_base_.ov_val_dataloader, _delete_=True)
test_dataloader = val_dataloader
val_evaluator = dict(_base_.ov_val_evaluator, _delete_=True)
test_evaluator = val_evaluator

# the concept words start at random and are learned like any weight
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={
        'text_bank.phrase_encoder.weight': dict(lr_mult=1.0, decay_mult=0.0)
    }))
