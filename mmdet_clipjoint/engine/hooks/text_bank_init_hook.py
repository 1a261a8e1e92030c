# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Where a ClipJoint text bank's weights come from when a run starts.

:class:`TextBankInitHook` decides, before the runner initialises the
weights, whether each :class:`ContrastiveTextBank` is initialised (CLIP /
embeddings file / shipped vocabulary) or taken from the checkpoint the run
resumes or loads (``resume`` / ``load_from``), and checks the banks' class
names against the run's datasets. ``ClipJointHook`` is its deprecated
name.
"""
import logging
import os.path as osp
import re
from typing import Any, List, Optional, Tuple

import torch
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.runner import find_latest_checkpoint

from mmdet.registry import HOOKS
from ...datasets.class_counts import dataset_class_counts
from ...models.layers import ContrastiveTextBank
from ...models.layers.clipjoint_head_mixin import legacy_branch_key
from ..data_checks import check_run_data, run_loops

__all__ = ['TextBankInitHook', 'ClipJointHook', 'check_class_names']


def _checkpoint_value(state: dict, key: str) -> Optional[Any]:
    """``state[key]``, or the same weight under the flat layout of
    checkpoints saved before the branch module (``text_bank.*`` /
    ``proj.*`` instead of ``branch.text_bank.*`` / ``branch.proj.*``)."""
    if key in state:
        return state[key]
    old = legacy_branch_key(key)
    return state.get(old) if old is not None else None


def check_class_names(bank_names, dataset_names, where: str) -> None:
    """Raise a clear error when the bank's classes differ from a dataset's.

    Args:
        bank_names: Class names of the text bank (config order).
        dataset_names: ``dataset.metainfo['classes']``.
        where: Which dataset, for the message.
    """
    bank_names, dataset_names = list(bank_names), list(dataset_names)
    if bank_names == dataset_names:
        return
    if len(bank_names) != len(dataset_names):
        raise ValueError(
            f'The ContrastiveTextBank has {len(bank_names)} classes but the '
            f'{where} dataset has {len(dataset_names)} '
            f'({dataset_names[:6]}...). Set the text bank\'s `class_names` '
            '(and the head\'s `num_classes`) to the dataset\'s '
            '`metainfo[\'classes\']`.')
    diff = [(i, b, d) for i, (b, d) in enumerate(zip(bank_names,
                                                     dataset_names))
            if b != d][:5]
    raise ValueError(
        f'The ContrastiveTextBank\'s class names differ from the {where} '
        f'dataset\'s (first differences as (index, bank, dataset): {diff}). '
        'Embedding i must describe class i: give the bank the same names in '
        'the same order as the dataset\'s `metainfo[\'classes\']`.')


@HOOKS.register_module()
class TextBankInitHook(Hook):
    """Decide each text bank's initialisation around ``load_from`` /
    ``resume``, and check the banks against the run's data::

        custom_hooks = [dict(type='TextBankInitHook')]

    ``before_run`` (mmengine calls it before it initialises the weights and
    before it loads or resumes the checkpoint, in ``train``, ``val`` and
    ``test`` alike):

    * checks every :class:`ContrastiveTextBank`'s ``class_names`` against
      ``metainfo['classes']`` of each dataset the run uses (count and order);
    * when the run resumes, or ``load_from`` points at a checkpoint whose
      text bank has the same shape and class names
      (:meth:`bank_mismatch`), skips the bank's CLIP / file initialisation
      in ``init_weights`` (:meth:`ContrastiveTextBank.expect_checkpoint`:
      the checkpoint overwrites it anyway), so resuming needs no CLIP
      weights and no network;
    * when ``load_from``'s bank does not fit (fine-tuning on another class
      list), says so, keeps the configured initialisation and leaves that
      bank's weights out of the load (``after_load_checkpoint``).

    ``before_train`` (after the weights are initialised or loaded; not when
    the run resumes, whose checkpoint holds them): counts the training
    boxes per class (:func:`~mmdet_clipjoint.datasets.dataset_class_counts`)
    and records them in every bank
    (:meth:`ContrastiveTextBank.set_class_counts`), so the checkpoint
    carries them: a bank with ``temperature_power`` sets its class
    temperatures from them (when it was initialised for this run), and a
    head with ``fuse_frequency_power`` weighs its fused scores by them at
    inference.

    It also checks the run's COCO-format annotation files (no images, a
    training split without boxes, unknown category ids and duplicated image
    ids are errors that name the file and the first offending record;
    zero / negative-size boxes a one-line warning): mmengine's ``Runner``
    does so before it builds each dataset
    (:mod:`mmdet_clipjoint.engine.data_checks`), and ``before_run`` covers
    loops built otherwise, once per file.

    The run's checkpoint is read from ``runner.cfg`` (``load_from``,
    ``resume``), where ``Runner.from_cfg`` -- and so every mmdet / mim
    script -- keeps it; the run's loops are those the runner has built
    (:func:`~mmdet_clipjoint.engine.data_checks.run_loops`).

    Args:
        check_classes (bool): Do the class-name check. Defaults to True.
        check_data (bool): Check the annotation files. Defaults to True.
    """

    priority = 'VERY_HIGH'

    def __init__(self, check_classes: bool = True,
                 check_data: bool = True) -> None:
        self.check_classes = check_classes
        self.check_data = check_data
        #: banks of load_from left out of the load: {module path: why}
        self._dropped = {}
        #: whether the run resumes (the checkpoint restores everything)
        self._resuming = False

    @staticmethod
    def _named_banks(runner) -> List[Tuple[str, ContrastiveTextBank]]:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        return [(n, m) for n, m in model.named_modules()
                if isinstance(m, ContrastiveTextBank)]

    @staticmethod
    def _read_checkpoint(path: str) -> Optional[dict]:
        """The checkpoint's state dict and dataset classes, or None when it
        is not a readable local file (URLs etc.: left to mmengine)."""
        if not osp.isfile(path):
            return None
        try:
            ckpt = torch.load(path, map_location='cpu', mmap=True,
                              weights_only=True)
        except Exception:
            return None
        return TextBankInitHook._bank_source(ckpt)

    @staticmethod
    def _bank_source(ckpt) -> dict:
        state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) \
            else {}
        state = {re.sub(r'^module\.', '', k): v for k, v in state.items()}
        meta = ckpt.get('meta') if isinstance(ckpt, dict) else None
        classes = ((meta or {}).get('dataset_meta') or {}).get('classes')
        return dict(state=state,
                    classes=list(classes) if classes is not None else None)

    @staticmethod
    def bank_mismatch(name: str, bank: ContrastiveTextBank,
                      source: dict) -> Optional[str]:
        """Why the checkpoint's copy of ``bank`` (module path ``name``)
        cannot be used, or None when it can.

        Usable means: it holds the bank's embeddings with the same shape
        and, where the checkpoint records its dataset's classes
        (``meta['dataset_meta']['classes']``), the same class names in the
        same order.
        """
        emb = _checkpoint_value(source['state'], f'{name}.embeddings')
        if emb is None:
            return 'the checkpoint has no text bank there'
        if tuple(emb.shape) != tuple(bank.embeddings.shape):
            return (f'its bank has {emb.shape[0]} classes x {emb.shape[1]} '
                    f'dims, this model\'s {bank.embeddings.shape[0]} x '
                    f'{bank.embeddings.shape[1]}')
        for key, p in bank.named_parameters():
            other = _checkpoint_value(source['state'], f'{name}.{key}')
            if other is not None and tuple(other.shape) != tuple(p.shape):
                return (f'its `{key}` has shape {tuple(other.shape)}, this '
                        f'model\'s {tuple(p.shape)}')
        classes = source['classes']
        if classes is not None and len(classes) == len(bank.class_names) \
                and list(classes) != list(bank.class_names):
            diff = [(i, c, b) for i, (c, b) in enumerate(
                zip(classes, bank.class_names)) if c != b][:3]
            return ('it was trained on other class names (index, '
                    f'checkpoint, this model): {diff}')
        return None

    @staticmethod
    def _init_description(bank: ContrastiveTextBank) -> str:
        what = TextBankInitHook._source_description(bank)
        if getattr(bank, 'centre', None) is not None:
            what += f', centred on the mean {bank.centre!r} row'
        return what

    @staticmethod
    def _source_description(bank: ContrastiveTextBank) -> str:
        if bank.init_source == 'file':
            return f'the embeddings file {bank.embeddings_file}'
        if bank.init_source == 'clip':
            return (f'CLIP {bank.clip_model} ({bank.clip_pretrained}) text '
                    'embeddings')
        if bank.init_source == 'vocabulary':
            return (f'the shipped CLIP text embeddings of the '
                    f'{bank.vocabulary!r} vocabulary')
        return 'a random initialisation (init_source=random)'

    @staticmethod
    def checkpoint_to_load(runner) -> Tuple[Optional[str], bool]:
        """The checkpoint the run will load or resume, and whether it
        resumes, as ``Runner.load_or_resume`` will decide them.

        Read from ``runner.cfg`` (``load_from``, ``resume``); auto-resume
        (``resume=True`` without ``load_from``) takes the work dir's latest
        checkpoint. A runner built without its config resumes / loads
        nothing here: its banks are then initialised as configured.

        Returns:
            tuple[str | None, bool]: The path (None: nothing is loaded) and
            whether the run resumes.
        """
        cfg = runner.cfg
        resume = bool(cfg.get('resume', False))
        load_from = cfg.get('load_from', None)
        if resume and load_from is None:
            return find_latest_checkpoint(runner.work_dir), True
        return load_from, resume

    def _log_prefix(self) -> str:
        return f'{type(self).__name__}: '

    def _banks(self, runner) -> List[ContrastiveTextBank]:
        return [bank for _, bank in self._named_banks(runner)]

    def before_run(self, runner) -> None:
        """Check the banks against the data; decide their initialisation."""
        self._dropped = {}
        self._resuming = False
        banks = self._banks(runner)
        if not banks:
            return
        loops = run_loops(runner)
        if self.check_data:
            for split, loop in loops.items():
                check_run_data(runner, split, loop.dataloader)
        if self.check_classes:
            for split, loop in loops.items():
                meta = getattr(loop.dataloader.dataset, 'metainfo', {}) or {}
                if 'classes' not in meta:
                    continue
                for bank in banks:
                    check_class_names(bank.class_names, meta['classes'],
                                      split)
        ckpt, self._resuming = self.checkpoint_to_load(runner)
        if ckpt is None:
            return
        if self._resuming:
            # resuming restores the whole model: the bank comes from there
            for bank in banks:
                bank.expect_checkpoint(ckpt)
            print_log(f'{self._log_prefix()}resuming from {ckpt}; the text '
                      'bank comes from the checkpoint (no CLIP / file '
                      'initialisation).', logger='current')
            return
        source = self._read_checkpoint(ckpt)
        if source is None:
            return  # not a local file: init_weights runs, mmengine loads
        if 'train' not in loops:
            self._check_scoring_branch(runner, ckpt, source)
        for name, bank in self._named_banks(runner):
            why = self.bank_mismatch(name, bank, source)
            if why is None:
                bank.expect_checkpoint(ckpt)
                print_log(f'{self._log_prefix()}text bank {name} will come '
                          f'from {ckpt} (same classes); skipping its '
                          f'{bank.init_source} initialisation.',
                          logger='current')
            else:
                self._dropped[name] = why
                print_log(
                    f'{self._log_prefix()}the text bank {name} in {ckpt} is '
                    f'not used: {why}. It is initialised from '
                    f'{self._init_description(bank)} instead, and its '
                    'checkpoint weights are left out of load_from.',
                    logger='current', level=logging.WARNING)

    @staticmethod
    def _scoring_head(modules: dict, bank_name: str) -> Tuple[str, Any]:
        """The head that scores with the bank at module path ``bank_name``:
        its nearest enclosing module with a ``score_mode`` (the bank may sit
        in the head or in a submodule of it), as ``(path, module)``; the
        bank's parent when none has one."""
        enclosing, path = [], bank_name
        while path:  # 'a.b.text_bank' -> 'a.b', 'a', '' (the model)
            path = path.rsplit('.', 1)[0] if '.' in path else ''
            enclosing.append(path)
        for path in enclosing:
            if hasattr(modules.get(path), 'score_mode'):
                return path, modules[path]
        return (enclosing[0], modules.get(enclosing[0])) if enclosing \
            else ('', None)

    def _check_scoring_branch(self, runner, ckpt: str, source: dict) -> None:
        """Evaluating (no training): a head that scores with its branch
        (``score_mode`` clip / fuse) needs the branch's weights from the
        checkpoint; a random branch would give a meaningless number."""
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        modules = dict(model.named_modules())
        for name, bank in self._named_banks(runner):
            head_name, head = self._scoring_head(modules, name)
            mode = getattr(head, 'score_mode', 'det')
            if mode == 'det':
                continue
            branch = [f'{head_name}.{k}' for k, _ in
                      head.named_parameters() if k.startswith(
                          ('branch.', 'proj.', 'text_bank.'))]
            missing = [k for k in branch
                       if _checkpoint_value(source['state'], k) is None]
            why = self.bank_mismatch(name, bank, source)
            if missing or why:
                detail = (f'missing {len(missing)} of its {len(branch)} '
                          f'weights ({", ".join(missing[:3])}, ...)'
                          if missing else f'its text bank does not fit: '
                          f'{why}')
                raise ValueError(
                    f'{head_name} scores with score_mode={mode!r}, which '
                    f'uses the ClipJoint branch, but {ckpt} does not hold '
                    f'that branch: {detail}. It looks like a stock or '
                    'other-class checkpoint, so the branch would be random '
                    'and the scores meaningless. Evaluate it with '
                    f"--cfg-options model.{head_name}.score_mode=det, or "
                    'give a checkpoint trained with this ClipJoint config.')

    def before_train(self, runner) -> None:
        """Record the training set's boxes per class in every bank (and
        set the class-frequency temperatures of the banks initialised for
        this run); nothing when the run resumes."""
        banks = self._banks(runner)
        if not banks or self._resuming:
            return
        needed = [b for b in banks if b.temperature_power > 0]
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        needed += [m for m in model.modules()
                   if getattr(m, 'fuse_frequency_power', 0) > 0]
        dataset = runner.train_dataloader.dataset
        counts = dataset_class_counts(dataset, banks[0].num_classes)
        if counts is None:
            msg = (f'the training set ({type(dataset).__name__}) has no '
                   'get_data_info to count its boxes per class')
            if needed:
                raise ValueError(
                    f'{msg}, but class-frequency temperatures '
                    '(temperature_power) or frequency-weighted fusion '
                    '(fuse_frequency_power) need the counts: train on an '
                    'mmdet / mmengine dataset (or wrapper) or turn them '
                    'off.')
            print_log(f'{self._log_prefix()}{msg}; the text banks record '
                      'no class counts.', logger='current')
            return
        for bank in banks:
            if len(counts) != bank.num_classes:
                continue  # checked against the data in before_run
            bank.set_class_counts(
                counts, init_temperatures=bank._checkpoint_source is None)
        print_log(
            f'{self._log_prefix()}training boxes per class recorded in the '
            f'text bank: {int(counts.min())} .. {int(counts.max())} '
            f'({int(counts.sum())} in all)', logger='current')

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Leave the weights of the banks that ``before_run`` found unusable
        out of ``load_from`` (so they keep their initialisation instead of
        mmengine's generic size-mismatch skip, or -- same shape, other
        classes -- instead of silently taking another class list's
        embeddings)."""
        dropped = self._dropped
        if self._resuming or not dropped:
            return
        state = checkpoint.get('state_dict', checkpoint)
        # the banks' prefixes, and the same under the flat layout of older
        # checkpoints (their keys are mapped to branch.* on loading)
        prefixes = [name + '.' for name in dropped]
        prefixes += [legacy_branch_key(p) for p in prefixes
                     if legacy_branch_key(p) is not None]
        for key in list(state):
            plain = re.sub(r'^module\.', '', key)
            if plain.startswith(tuple(prefixes)):
                del state[key]


@HOOKS.register_module()
class ClipJointHook(TextBankInitHook):
    """Deprecated name of :class:`TextBankInitHook` (same arguments): a
    config's ``dict(type='ClipJointHook')`` keeps working, with a one-line
    notice."""

    def __init__(self, *args, **kwargs) -> None:
        print_log(
            "ClipJointHook is deprecated: it is now called TextBankInitHook "
            "(custom_hooks=[dict(type='TextBankInitHook')], same "
            'arguments).', logger='current', level=logging.WARNING)
        super().__init__(*args, **kwargs)
