# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Checks of COCO-format annotation files, with messages that name the file
and the first offending record (instead of mmdet's / pycocotools' raw
``JSONDecodeError``, "need at least one array to concatenate", "Cannot find
valid image after 1000!" or, worse, silent training on broken labels).

They run before every training and test run of a config with a ClipJoint
head (:mod:`mmdet_clipjoint.engine.data_checks`), on the project's own
paths (benchmarks, demo, the stress wrappers) and as a command line for any
file: ``python tools/misc/check_annotations.py FILE``.
"""
import json
import logging
import os.path as osp
from typing import Dict, List, Optional

__all__ = ['check_coco_annotation_file', 'AnnotationError']


class AnnotationError(ValueError):
    """An annotation file that cannot be trained or evaluated on as it is
    (the message names the file and the first offending record)."""


def _record(rec: dict, keys=('id', 'image_id', 'category_id', 'bbox',
                             'file_name', 'name')) -> str:
    """A short, readable form of one JSON record."""
    return '{' + ', '.join(f'{k!r}: {rec[k]!r}' for k in keys
                           if isinstance(rec, dict) and k in rec) + '}'


def _is_box(bbox) -> bool:
    return (isinstance(bbox, (list, tuple)) and len(bbox) == 4
            and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                    for v in bbox))


def check_coco_annotation_file(path: str,
                               split: str = 'train',
                               need_boxes: bool = False,
                               warn: bool = True) -> Dict[str, int]:
    """Check a COCO-format annotation file before a dataset reads it.

    Errors (``ValueError``, naming the file and the first offending
    record): a missing, empty or non-JSON file; no ``images`` /
    ``annotations`` / ``categories``; no images; no categories; an
    annotation whose ``bbox`` is not four numbers; a ``category_id`` that
    ``categories`` does not list (mmdet would drop that box silently);
    duplicated image ids (pycocotools keeps the last one silently) or
    category ids; with ``need_boxes``, no box at all.

    Warning (one line with the count and the file, when ``warn``): boxes of
    zero or negative width or height, which mmdet drops.

    Args:
        path (str): The JSON file.
        split (str): What it is for (``train`` / ``val`` / ``test``), for
            the messages.
        need_boxes (bool): Require at least one image with a box (training
            pipelines such as RTMDet's drop images without boxes and then
            find nothing to train on).
        warn (bool): Log the warning (else only count the boxes).

    Returns:
        dict: ``images``, ``annotations``, ``images_with_boxes`` and
        ``degenerate_boxes`` counts.

    Raises:
        FileNotFoundError: The file does not exist.
        AnnotationError: Any of the errors above (a ``ValueError``).
    """
    what = f'{split} annotation file {path}'
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'{what} does not exist. Check `data_root` + `ann_file` in the '
            'config (or regenerate the synthetic data: python '
            'tools/make_synthetic_dataset.py).')
    if osp.getsize(path) == 0:
        raise AnnotationError(
            f'{what} is empty (0 bytes): expected COCO-format JSON. An '
            'interrupted write leaves such a file; regenerate or re-copy it.')
    try:
        with open(path) as f:
            data = json.load(f)
    except json.JSONDecodeError as e:
        raise AnnotationError(
            f'{what} is not valid JSON ({e.msg} at line {e.lineno}, column '
            f'{e.colno}); regenerate or re-copy it.') from e
    missing = [k for k in ('images', 'annotations', 'categories')
               if not isinstance(data, dict) or k not in data]
    if missing:
        raise AnnotationError(
            f'{what} is not in COCO format: it has no {missing} (a COCO '
            'file holds "images", "annotations" and "categories" lists).')
    images, anns, cats = (data['images'], data['annotations'],
                          data['categories'])
    if not images:
        raise AnnotationError(
            f'{what} lists no images ("images": []): there is nothing to '
            'train or evaluate on. Give it the images and their boxes (for '
            'generated data: --num-train / --num-val of '
            'tools/make_synthetic_dataset.py).')
    if not cats:
        raise AnnotationError(f'{what} has no categories: the classes '
                              'cannot be matched.')
    _check_unique_ids(what, images, 'image', 'images')
    _check_unique_ids(what, cats, 'category', 'categories')
    cat_ids = {c['id'] for c in cats}
    degenerate: List[dict] = []
    with_boxes = set()
    for ann in anns:
        if ann.get('category_id') not in cat_ids:
            raise AnnotationError(
                f'{what}: annotation {_record(ann)} has category_id '
                f'{ann.get("category_id")!r}, which "categories" does not '
                f'list (ids {sorted(cat_ids)[:20]}'
                f'{" ..." if len(cat_ids) > 20 else ""}). mmdet would drop '
                'such boxes without a word; fix the id or add the category.')
        bbox = ann.get('bbox')
        if not _is_box(bbox):
            raise AnnotationError(
                f'{what}: annotation {_record(ann)} has no valid "bbox" '
                '(expected four numbers [x, y, width, height]).')
        if bbox[2] <= 0 or bbox[3] <= 0:
            degenerate.append(ann)
        elif not ann.get('iscrowd', 0):
            with_boxes.add(ann.get('image_id'))
    if need_boxes and not with_boxes:
        raise AnnotationError(
            f'{what}: none of its {len(images)} images has a box '
            f'({len(anns)} annotations, {len(degenerate)} of zero or '
            'negative size). Training drops images without boxes, so '
            'nothing would be left to train on; give the training split '
            'images with objects.')
    if degenerate and warn:
        from mmengine.logging import print_log
        print_log(
            f'{what}: {len(degenerate)} of {len(anns)} boxes have zero or '
            f'negative width or height and are ignored (first: '
            f'{_record(degenerate[0])}).', logger='current',
            level=logging.WARNING)
    return dict(images=len(images), annotations=len(anns),
                images_with_boxes=len(with_boxes),
                degenerate_boxes=len(degenerate))


def _check_unique_ids(what: str, records: list, kind: str,
                      key: str) -> None:
    seen: Dict[object, dict] = {}
    for rec in records:
        rid: Optional[object] = rec.get('id') if isinstance(rec,
                                                            dict) else None
        if rid is None:
            raise AnnotationError(f'{what}: {kind} record {_record(rec)} '
                                  f'in "{key}" has no "id".')
        if rid in seen:
            raise AnnotationError(
                f'{what}: {kind} id {rid!r} appears more than once in '
                f'"{key}" (first duplicate: {_record(rec)}, earlier: '
                f'{_record(seen[rid])}); pycocotools would keep only one '
                'of them without a word. Give every record its own id.')
        seen[rid] = rec
