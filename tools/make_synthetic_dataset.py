# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Generate the synthetic detection dataset (COCO format, optionally VOC).

Example:
    python tools/make_synthetic_dataset.py data/synthetic --num-train 600 \\
        --num-val 150 --img-size 256 --seed 0 --voc

With ``--captions``: the open-vocabulary set instead (detection images with
boxes of only some classes, caption images naming every class, val with all
boxes; configs/_base_/datasets/synthetic_open_vocab.py reads it):
    python tools/make_synthetic_dataset.py data/synthetic_open_vocab \\
        --captions --num-train 600 --num-caption-train 600 --num-val 150

With ``--emoji``: the semantic world instead (COCO names drawn as Noto Color
Emoji; ``--classes`` are COCO names, default the semantic benchmark's 15;
``--unlabelled`` classes get no training box; ``--font`` / ``--art-dir``
choose the art):
    python tools/make_synthetic_dataset.py data/semantic --emoji \\
        --num-train 600 --num-val 150 --img-size 160
``--emoji --odvg`` also writes annotations/odvg_{train,val}.jsonl: the same
images as ODVG grounding lines (captions naming each object by its name or
an LVIS synonym, with its box; GroundingPhraseDataset reads them).
"""
import argparse
import json
import os.path as osp

from mmdet_clipjoint.benchmark.semantic import SEMANTIC_CLASSES
from mmdet_clipjoint.datasets import (SYNTHETIC_CLASSES,
                                      SYNTHETIC_OPEN_VOCAB_CLASSES,
                                      SYNTHETIC_OPEN_VOCAB_UNSEEN,
                                      make_semantic_dataset,
                                      make_synthetic_caption_dataset,
                                      make_synthetic_dataset)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('out_dir')
    p.add_argument('--num-train', type=int, default=600,
                   help='training images (with --captions: the detection '
                   'images)')
    p.add_argument('--num-val', type=int, default=150)
    p.add_argument('--img-size', type=int, nargs='+', default=[256],
                   help='W [H] of every image')
    p.add_argument('--objects', type=int, nargs=2, default=[1, 4],
                   metavar=('MIN', 'MAX'), help='labelled objects per image')
    p.add_argument('--distractors', type=int, default=2,
                   help='max unlabelled grey shapes per image')
    p.add_argument('--classes', nargs='+', default=None,
                   help=f'"<colour> <shape>" names (default: the '
                   f'{len(SYNTHETIC_CLASSES)} built-in classes; with '
                   f'--captions the {len(SYNTHETIC_OPEN_VOCAB_CLASSES)} '
                   'open-vocabulary ones)')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--voc', action='store_true',
                   help='also write a VOC2007-style tree')
    p.add_argument('--captions', action='store_true',
                   help='generate the open-vocabulary set (detection + '
                   'caption + val splits) instead')
    p.add_argument('--num-caption-train', type=int, default=600,
                   help='caption training images (with --captions)')
    p.add_argument('--box-classes', nargs='+', default=None,
                   help='with --captions: the classes that get training '
                   'boxes (default: all but '
                   f'{list(SYNTHETIC_OPEN_VOCAB_UNSEEN)})')
    p.add_argument('--emoji', action='store_true',
                   help='the semantic world: COCO names drawn as emoji '
                   f'(default classes: {list(SEMANTIC_CLASSES)})')
    p.add_argument('--unlabelled', nargs='+', default=(),
                   help='with --emoji: classes drawn without training boxes')
    p.add_argument('--font', default=None,
                   help='with --emoji: path of NotoColorEmoji.ttf')
    p.add_argument('--art-dir', default=None,
                   help='with --emoji: a folder of PNGs named by code point '
                   '(1f68c.png) instead of the font')
    p.add_argument('--odvg', action='store_true',
                   help='with --emoji: also write ODVG grounding files')
    args = p.parse_args(argv)
    if args.emoji and (args.captions or args.voc):
        p.error('--emoji cannot be combined with --captions or --voc')
    if not args.emoji and (args.unlabelled or args.font or args.art_dir
                           or args.odvg):
        p.error('--unlabelled, --font, --art-dir and --odvg need --emoji')
    if args.captions and args.voc:
        p.error('--voc is not available with --captions')
    if not args.captions and args.box_classes:
        p.error('--box-classes needs --captions')
    return args


def main(argv=None):
    args = parse_args(argv)
    size = args.img_size * 2 if len(args.img_size) == 1 else args.img_size
    if args.emoji:
        info = make_semantic_dataset(
            args.out_dir, args.classes or SEMANTIC_CLASSES, args.num_train,
            args.num_val, tuple(size[:2]),
            objects_per_image=tuple(args.objects),
            distractors=args.distractors, seed=args.seed,
            unlabelled_classes=args.unlabelled, font=args.font,
            art_dir=args.art_dir, odvg=args.odvg)
    elif args.captions:
        info = make_synthetic_caption_dataset(
            args.out_dir, args.classes, args.box_classes, args.num_train,
            args.num_caption_train, args.num_val, tuple(size[:2]),
            seed=args.seed, objects_per_image=tuple(args.objects),
            distractors=args.distractors)
    else:
        info = make_synthetic_dataset(
            args.out_dir, args.num_train, args.num_val, tuple(size[:2]),
            objects_per_image=tuple(args.objects),
            distractors=args.distractors, classes=args.classes,
            seed=args.seed, voc=args.voc)
    listed = {k: list(v) if isinstance(v, tuple) else v
              for k, v in info.items()}
    with open(osp.join(args.out_dir, 'dataset_info.json'), 'w') as f:
        json.dump(listed, f, indent=2)
    if args.captions:
        print(f'wrote {args.num_train} detection / {args.num_caption_train} '
              f'caption / {args.num_val} val images with '
              f'{len(info["classes"])} classes ({len(info["unseen_classes"])}'
              f' without training boxes: {list(info["unseen_classes"])}) to '
              f'{args.out_dir} (annotations: {info["det_ann_file"]}, '
              f'{info["caption_ann_file"]}, {info["val_ann_file"]})')
    else:
        print(f'wrote {args.num_train} train / {args.num_val} val images '
              f'with {len(info["classes"])} classes to {args.out_dir} '
              f'(annotations: {info["train_ann_file"]}, '
              f'{info["val_ann_file"]})')
    return info


if __name__ == '__main__':
    main()
