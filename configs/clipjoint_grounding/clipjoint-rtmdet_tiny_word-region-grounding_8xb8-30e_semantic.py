# ClipJoint RTMDet-tiny trained on all three kinds of DetCLIPv2 data in the
# semantic world (COCO names drawn as emoji): detection (COCO boxes),
# grounding (ODVG phrases with their boxes, GroundingPhraseDataset) and
# image-caption pairs (CaptionPhraseDataset). A delta over the caption
# hybrid clipjoint-rtmdet_tiny_word-region_8xb8-30e_synthetic-ov.py: the
# semantic classes, a third dataset, batch_size / ratio / num_datasets of 3.
#
# * grounding batches: the stock box losses on the boxes whose phrase names
#   a class (name or LVIS synonym: "automobile" -> car), plus
#   `loss_grounding`, the word-region loss on each phrase's KNOWN region
#   (its box's assigned positive locations) instead of a top-K guess;
# * caption batches: `loss_word_region` on the top-16 locations, as before.
#
# Generate the data first (default place; the three kinds share the train
# images here -- give each kind its own images for experiments, e.g. three
# folders generated with different --seed):
#   python tools/make_synthetic_dataset.py data/semantic_grounding --emoji \
#       --odvg --num-train 600 --num-val 150 --img-size 160
_base_ = ('../clipjoint_open_vocab/'
          'clipjoint-rtmdet_tiny_word-region_8xb8-30e_synthetic-ov.py')

data_root = 'data/semantic_grounding/'
# mmdet_clipjoint.benchmark.semantic.SEMANTIC_CLASSES
classes = ('car', 'bus', 'bicycle', 'motorcycle', 'truck', 'dog', 'horse',
           'cow', 'cat', 'sheep', 'apple', 'banana', 'pizza', 'orange',
           'carrot')
metainfo = dict(classes=classes, palette=[(220, 40, 40)] * len(classes))
img_scale = (160, 160)

model = dict(
    bbox_head=dict(
        num_classes=len(classes),
        text_bank=dict(
            class_names=classes,
            # concept words start from CLIP (issue 26 item 2): LVIS names,
            # then COCO names, and the words of multi-word names from the
            # mean of those names' rows; the rest at random
            phrase_encoder=dict(
                init_vocabulary=['lvis', 'coco'], init_part_words=True),
            # the LVIS synonyms of these classes (LVIS_SYNONYMS) are words
            # of the concept table too: a phrase without a known word would
            # be left out of the word-region losses
            extra_words=['automobile', 'auto', 'autobus', 'motorbus',
                         'motorcoach', 'bike'])))

det_train = dict(
    _base_.ov_det_train_dataset,
    data_root=data_root,
    metainfo=metainfo,
    ann_file='annotations/instances_train.json',
    data_prefix=dict(img='train/'))
grounding_train = dict(
    det_train,
    type='GroundingPhraseDataset',
    ann_file='annotations/odvg_train.jsonl',
    class_aliases='lvis',
    # no flip: a caption may say "left" / "right"; the caption pipeline at
    # the detection size, + the phrase classes
    pipeline=[
        *_base_.ov_caption_train_pipeline[:2],
        dict(type='Resize', scale=img_scale, keep_ratio=True),
        dict(type='Pad', size=img_scale, pad_val=dict(img=(114, 114, 114))),
        dict(_base_.ov_caption_train_pipeline[-1],
             meta_keys=_base_.ov_caption_train_pipeline[-1]['meta_keys'] +
             ('phrase_labels', ))
    ])
caption_train = dict(
    _base_.ov_caption_train_dataset,
    data_root=data_root,
    metainfo=metainfo,
    ann_file='annotations/captions_train.json',
    data_prefix=dict(img='train/'),
    phrase_vocab=classes)

train_dataloader = dict(
    batch_size=[8, 8, 8],  # [detection, grounding, caption]
    sampler=dict(type='MultiDataSampler', dataset_ratio=[1, 1, 1]),
    batch_sampler=dict(type='MultiDataAspectRatioBatchSampler',
                       num_datasets=3),
    dataset=dict(datasets=[det_train, grounding_train, caption_train]))
val_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/instances_val.json',
        data_prefix=dict(img='val/')))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = val_evaluator
