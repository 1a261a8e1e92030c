# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Check COCO-format annotation files before training or testing on them.

The same checks run by themselves before every training and test run of a
ClipJoint config (``tools/train.py``, ``mim train``, ...). Errors: a
missing, empty or non-JSON file, no images, no categories, a box that is
not four numbers, a ``category_id`` missing from ``categories``, duplicated
image or category ids and, for a training split (the default), no box at
all. Boxes of zero or negative size give a warning. Messages name the file
and the first offending record; the exit status is 1 on an error.

Examples::

    python tools/misc/check_annotations.py data/coco/annotations/\\
instances_train2017.json
    python tools/misc/check_annotations.py val.json test.json --split val
"""
from mmdet_clipjoint.utils.cli import doc_parser, run_main

__all__ = ['main']


def parse_args(argv=None):
    p = doc_parser(__doc__)
    p.add_argument('files', nargs='+', metavar='FILE',
                   help='COCO-format annotation JSON file(s)')
    p.add_argument('--split', default='train',
                   choices=['train', 'val', 'test'],
                   help='what the files are for: a training split must '
                   'hold boxes (default: train)')
    return p.parse_args(argv)


def main(argv=None) -> dict:
    """Check the files; returns ``{file: counts}`` (see
    :func:`~mmdet_clipjoint.datasets.checks.check_coco_annotation_file`)."""
    args = parse_args(argv)
    from mmdet_clipjoint.datasets.checks import check_coco_annotation_file
    results = {}
    for path in args.files:
        counts = check_coco_annotation_file(path, args.split,
                                            need_boxes=args.split == 'train')
        results[path] = counts
        print(f'{path}: OK ({counts["images"]} images, '
              f'{counts["annotations"]} annotations, '
              f'{counts["images_with_boxes"]} images with boxes, '
              f'{counts["degenerate_boxes"]} zero/negative-size boxes)')
    return results


if __name__ == '__main__':
    run_main(main, 'check_annotations')
