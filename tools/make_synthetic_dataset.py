# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Generate the synthetic detection dataset (COCO format, optionally VOC).

Example:
    python tools/make_synthetic_dataset.py data/synthetic --num-train 600 \\
        --num-val 150 --img-size 256 --seed 0 --voc
"""
import argparse
import json
import os.path as osp

from mmdet_clipjoint.datasets import SYNTHETIC_CLASSES, make_synthetic_dataset


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('out_dir')
    p.add_argument('--num-train', type=int, default=600)
    p.add_argument('--num-val', type=int, default=150)
    p.add_argument('--img-size', type=int, nargs='+', default=[256],
                   help='W [H] of every image')
    p.add_argument('--objects', type=int, nargs=2, default=[1, 4],
                   metavar=('MIN', 'MAX'), help='labelled objects per image')
    p.add_argument('--distractors', type=int, default=2,
                   help='max unlabelled grey shapes per image')
    p.add_argument('--classes', nargs='+', default=None,
                   help=f'"<colour> <shape>" names (default: the '
                   f'{len(SYNTHETIC_CLASSES)} built-in classes)')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--voc', action='store_true',
                   help='also write a VOC2007-style tree')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    size = args.img_size * 2 if len(args.img_size) == 1 else args.img_size
    info = make_synthetic_dataset(
        args.out_dir, args.num_train, args.num_val, tuple(size[:2]),
        objects_per_image=tuple(args.objects), distractors=args.distractors,
        classes=args.classes, seed=args.seed, voc=args.voc)
    with open(osp.join(args.out_dir, 'dataset_info.json'), 'w') as f:
        json.dump(dict(info, classes=list(info['classes'])), f, indent=2)
    print(f'wrote {args.num_train} train / {args.num_val} val images with '
          f'{len(info["classes"])} classes to {args.out_dir} '
          f'(annotations: {info["train_ann_file"]}, {info["val_ann_file"]})')
    return info


if __name__ == '__main__':
    main()
