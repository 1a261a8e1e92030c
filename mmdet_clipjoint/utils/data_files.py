# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Say which dataset file is missing, and where the data should go.

Testing or training a shipped COCO config on a machine without COCO ends,
in mmdet, in pycocotools' ``FileNotFoundError`` deep in a traceback (the
dataset and ``CocoMetric`` both open the annotation file through mmdet's
``COCO`` wrapper). :func:`register_missing_data_hint` (run on ``import
mmdet_clipjoint``, so ``tools/test.py``, ``tools/train.py``, ``mim test`` and
``mim train`` of every config that loads the package get it) makes that
wrapper check the file first and raise :class:`MissingDataFileError` (a
``FileNotFoundError``), which names the file, the directory relative paths
start from, and the data-layout section of ``docs/usage.md``.
"""
import os
import os.path as osp
from typing import Optional

__all__ = [
    'DATA_LAYOUT_DOC', 'MissingDataFileError', 'missing_data_message',
    'register_missing_data_hint'
]

#: where the expected data layout is described
DATA_LAYOUT_DOC = 'docs/usage.md, section "Data: VOC and COCO" ' \
    '(docs/usage.md#data-voc-and-coco)'


class MissingDataFileError(FileNotFoundError):
    """A dataset's annotation file does not exist."""


def missing_data_message(path: str, what: str = 'annotation file') -> str:
    """The message of :class:`MissingDataFileError` for ``path``."""
    rel = '' if osp.isabs(path) else \
        f' (relative to the working directory {os.getcwd()})'
    parent = osp.dirname(osp.abspath(path))
    while parent and not osp.isdir(parent) and \
            osp.dirname(parent) != parent:
        parent = osp.dirname(parent)
    return (
        f'COCO {what} {path!r} does not exist{rel}; the nearest existing '
        f'folder is {parent!r}. The COCO configs read COCO 2017 from '
        'data/coco/ (annotations/instances_{train,val}2017.json, '
        'train2017/, val2017/), laid out as described in '
        f'{DATA_LAYOUT_DOC}: put or symlink the data there (`ln -s '
        '/datasets/coco data/coco`), run from the folder that holds data/, '
        'or point the config at your copy (`--cfg-options '
        'test_dataloader.dataset.data_root=... test_evaluator.ann_file='
        '...`, and the same for train / val).')


def _checked_init(original):

    def __init__(self, annotation_file: Optional[str] = None):
        if isinstance(annotation_file, (str, os.PathLike)) and \
                not osp.isfile(annotation_file):
            raise MissingDataFileError(
                missing_data_message(os.fspath(annotation_file)))
        original(self, annotation_file)

    __init__.__wrapped__ = original
    __init__.__doc__ = original.__doc__
    return __init__


def register_missing_data_hint() -> None:
    """Make mmdet's ``COCO`` wrapper (used by ``CocoDataset`` and
    ``CocoMetric``) check that its annotation file exists; idempotent."""
    from mmdet.datasets.api_wrappers import coco_api
    init = coco_api.COCO.__init__
    if getattr(init, '__wrapped__', None) is None:
        coco_api.COCO.__init__ = _checked_init(init)
