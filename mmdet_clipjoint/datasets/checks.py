# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Checks of the annotation files the project's runs read, with messages
that name the file and the problem (instead of mmdet's / pycocotools' raw
``JSONDecodeError``, "need at least one array to concatenate" or "Cannot
find valid image after 1000!")."""
import json
import os.path as osp
from typing import Dict

__all__ = ['check_coco_annotation_file']


def check_coco_annotation_file(path: str,
                               split: str = 'train',
                               need_boxes: bool = False) -> Dict[str, int]:
    """Check a COCO-format annotation file before a dataset reads it.

    Args:
        path (str): The JSON file.
        split (str): What it is for (``train`` / ``val`` / ``test``), for
            the messages.
        need_boxes (bool): Require at least one image with a box (training
            pipelines such as RTMDet's drop images without boxes and then
            find nothing to train on).

    Returns:
        dict: ``images``, ``annotations`` and ``images_with_boxes`` counts.

    Raises:
        FileNotFoundError: The file does not exist.
        ValueError: Empty, not JSON, not COCO-shaped, no images, or (with
            ``need_boxes``) no box at all.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'{split} annotation file {path} does not exist. Check '
            '`data_root` + `ann_file` in the config (or regenerate the '
            'synthetic data: python tools/make_synthetic_dataset.py).')
    if osp.getsize(path) == 0:
        raise ValueError(
            f'{split} annotation file {path} is empty (0 bytes): expected '
            'COCO-format JSON. An interrupted write leaves such a file; '
            'regenerate or re-copy it.')
    try:
        with open(path) as f:
            data = json.load(f)
    except json.JSONDecodeError as e:
        raise ValueError(
            f'{split} annotation file {path} is not valid JSON ({e.msg} at '
            f'line {e.lineno}, column {e.colno}); regenerate or re-copy '
            'it.') from e
    missing = [k for k in ('images', 'annotations', 'categories')
               if not isinstance(data, dict) or k not in data]
    if missing:
        raise ValueError(
            f'{split} annotation file {path} is not in COCO format: it has '
            f'no {missing} (a COCO file holds "images", "annotations" and '
            '"categories" lists).')
    if not data['images']:
        raise ValueError(
            f'{split} annotation file {path} lists no images ("images": '
            '[]): there is nothing to train or evaluate on. Regenerate it '
            'with images (e.g. --num-train / --num-val of '
            'tools/make_synthetic_dataset.py).')
    if not data['categories']:
        raise ValueError(f'{split} annotation file {path} has no '
                         'categories: the classes cannot be matched.')
    with_boxes = {a['image_id'] for a in data['annotations']
                  if len(a.get('bbox', ())) == 4 and a['bbox'][2] > 0
                  and a['bbox'][3] > 0 and not a.get('iscrowd', 0)}
    if need_boxes and not with_boxes:
        raise ValueError(
            f'{split} annotation file {path}: none of its '
            f'{len(data["images"])} images has a box. Training drops '
            'images without boxes (RTMDet / YOLOX pipelines), so nothing '
            'would be left; give the training split images with objects.')
    return dict(images=len(data['images']),
                annotations=len(data['annotations']),
                images_with_boxes=len(with_boxes))
