# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Annotation checks before every training and test run of a ClipJoint
model, whichever script starts it (``tools/train.py``, ``tools/test.py``,
``mim train`` / ``mim test``, which run mmdet's own scripts, or a
``Runner`` of your own).

mmengine builds a loop's dataset (and mmdet reads its annotation file)
before any hook runs, and an unusable file ends there in a raw error ("need
at least one array to concatenate") or, worse, trains silently on broken
labels. So :func:`install_runner_data_checks` (called once by ``import
mmdet_clipjoint``, i.e. by a config's ``custom_imports``) makes
``Runner.build_train_loop`` / ``build_val_loop`` / ``build_test_loop``
first check every COCO-format annotation file of the loop's dataloader with
:func:`~mmdet_clipjoint.datasets.checks.check_coco_annotation_file`, once
per file -- for runners whose model has a ClipJoint text bank and nothing
else: other runs are untouched. :class:`TextBankInitHook` repeats the check
in ``before_run`` for loops built some other way (already-built
dataloaders, a ``Runner`` built without its config), and ``TextBankInitHook(check_data=False)`` turns both off.

The same three builders remember the loops each runner has built, so that
hooks can ask which loops a run uses (:func:`run_loops`) without touching
the runner's private attributes or building a loop it does not use.
"""
import functools
import os.path as osp
import weakref
from typing import Any, Dict, Iterator, List

from mmengine.model import is_model_wrapper
from mmengine.runner import BaseLoop, Runner

from ..datasets.checks import check_coco_annotation_file

__all__ = [
    'coco_annotation_files', 'check_run_data', 'install_runner_data_checks',
    'run_loops'
]

#: runner -> {(annotation file, needs boxes)} already checked
_CHECKED: 'weakref.WeakKeyDictionary' = weakref.WeakKeyDictionary()
#: runner -> {split: weak reference to the loop it built}
_BUILT: 'weakref.WeakKeyDictionary' = weakref.WeakKeyDictionary()
#: loop builder -> (split, the config key of its dataloader)
_LOOPS = dict(build_train_loop=('train', 'train_dataloader'),
              build_val_loop=('val', 'val_dataloader'),
              build_test_loop=('test', 'test_dataloader'))


def _is_coco_type(dataset_type: Any) -> bool:
    from mmdet.datasets import CocoDataset
    from mmdet.registry import DATASETS
    cls = dataset_type
    if isinstance(dataset_type, str):
        try:
            cls = DATASETS.get(dataset_type)
        except Exception:  # unknown scope / name: mmengine will say so
            return False
    return isinstance(cls, type) and issubclass(cls, CocoDataset)


def coco_annotation_files(dataset: Any) -> Iterator[str]:
    """The local COCO-format annotation files a dataset (a config dict or a
    built dataset) reads, through mmdet's and this package's wrappers
    (``dataset`` / ``datasets`` members).

    Args:
        dataset: A dataset config (``dict(type='CocoDataset', data_root=...,
            ann_file=...)``, possibly wrapped) or a built dataset.

    Yields:
        str: Each file path (``data_root`` joined as mmengine does).
    """
    if isinstance(dataset, dict):
        ann = dataset.get('ann_file')
        if isinstance(ann, str) and ann and _is_coco_type(
                dataset.get('type')):
            root = dataset.get('data_root') or ''
            path = ann if osp.isabs(ann) or not root else osp.join(root, ann)
            if '://' not in path:  # remote storage: left to the dataset
                yield path
        inner = [dataset.get('dataset')] + list(dataset.get('datasets')
                                                or [])
    else:
        from mmdet.datasets import CocoDataset
        ann = getattr(dataset, 'ann_file', None)
        if isinstance(dataset, CocoDataset) and isinstance(ann, str) and \
                ann and '://' not in ann:
            yield ann
        inner = [getattr(dataset, 'dataset', None)] + list(
            getattr(dataset, 'datasets', None) or [])
    for d in inner:
        if d is not None:
            yield from coco_annotation_files(d)


def _wants_checks(runner) -> bool:
    """A ClipJoint model (a text bank) and no ``TextBankInitHook(check_data=
    False)``."""
    from ..models.layers import ContrastiveTextBank
    from .hooks import TextBankInitHook
    hooks = [h for h in getattr(runner, 'hooks', [])
             if isinstance(h, TextBankInitHook)]
    if any(not getattr(h, 'check_data', True) for h in hooks):
        return False
    model = runner.model.module if is_model_wrapper(
        runner.model) else runner.model
    return any(isinstance(m, ContrastiveTextBank) for m in model.modules())


def check_run_data(runner, split: str, dataloader: Any) -> List[str]:
    """Check the annotation files of one loop's dataloader (a config dict
    or a built ``DataLoader``), once per file and runner.

    A training split must hold boxes; zero / negative-size boxes give a
    one-line warning. Nothing happens when the runner's model has no
    ClipJoint text bank.

    Args:
        runner: The mmengine ``Runner``.
        split (str): ``train``, ``val`` or ``test`` (for the messages).
        dataloader: The loop's dataloader or its config.

    Returns:
        list[str]: The files checked now.

    Raises:
        AnnotationError: see
            :func:`~mmdet_clipjoint.datasets.checks.check_coco_annotation_file`
            (a missing file is left to the dataset, which names it).
    """
    if dataloader is None or not _wants_checks(runner):
        return []
    dataset = dataloader.get('dataset') if isinstance(dataloader, dict) \
        else getattr(dataloader, 'dataset', None)
    done = _CHECKED.setdefault(runner, set())
    checked = []
    for path in coco_annotation_files(dataset):
        key = (osp.abspath(path), split == 'train')
        if key in done or not osp.isfile(path):
            continue  # a missing file: the dataset names it (data_files)
        check_coco_annotation_file(path, split, need_boxes=split == 'train')
        done.add(key)
        checked.append(path)
    return checked


def _checked_builder(name: str, split: str, attr: str):
    build = getattr(Runner, name)

    @functools.wraps(build)
    def checked_build(self, loop):
        if not isinstance(loop, BaseLoop):  # the dataset is built next
            # the run's config says what the dataloader will read (a runner
            # built without its config: TextBankInitHook checks the built
            # dataloaders in before_run)
            check_run_data(self, split, self.cfg.get(attr))
        built = build(self, loop)
        _BUILT.setdefault(self, {})[split] = weakref.ref(built)
        return built

    checked_build.clipjoint_data_checks = True
    return checked_build


def run_loops(runner) -> Dict[str, BaseLoop]:
    """The loops a runner has built so far, by split.

    ``Runner.train`` builds its training loop (and the validation loop, if
    any) before ``before_run``; ``Runner.val`` / ``test`` build only theirs.
    So in ``before_run`` this says which loops the run uses -- and whether
    it trains (``'train' in run_loops(runner)``) -- without building any
    other (the runner's ``train_loop`` / ``val_loop`` / ``test_loop``
    properties would build it, dataset included).

    Args:
        runner: The mmengine ``Runner`` (its ``build_*_loop`` methods
            wrapped by :func:`install_runner_data_checks`).

    Returns:
        dict[str, BaseLoop]: ``{'train' | 'val' | 'test': loop}``.
    """
    loops = {}
    for split, ref in _BUILT.get(runner, {}).items():
        loop = ref()
        if loop is not None:
            loops[split] = loop
    return loops


def install_runner_data_checks() -> None:
    """Make mmengine's ``Runner`` check a ClipJoint run's annotation files
    before it builds a loop's dataset, and remember the loops it builds
    (:func:`run_loops`) (idempotent)."""
    for name, (split, attr) in _LOOPS.items():
        if not getattr(getattr(Runner, name), 'clipjoint_data_checks',
                       False):
            setattr(Runner, name, _checked_builder(name, split, attr))
