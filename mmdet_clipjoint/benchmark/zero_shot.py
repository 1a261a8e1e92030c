# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Zero-shot detection with CLIP text in the semantic world (the ViLD-text
protocol).

A quarter of the semantic preset's classes are *novel*: their boxes are
removed from the training split (the objects are still drawn, unlabelled,
as in real data; :func:`~mmdet_clipjoint.datasets.make_semantic_dataset`'s
``unlabelled_classes``), and the detector trains on the base classes only.
At test time every ClipJoint head gets the text rows of *all* classes
(:func:`~mmdet_clipjoint.apis.set_vocabulary`) and the full val split is
evaluated: the novel classes' AP is what CLIP's text lends a detector that
never saw them boxed.

Arms (:data:`ZERO_SHOT_ARMS`): the learnable CLIP bank (``clip``), a frozen
one (``frozen``), a drift-penalised one (``drift``), the CLIP rows centred on
the mean COCO row (``centred``: ``ContrastiveTextBank(centre='coco')``,
whose stored centre also centres the test rows that ``set_vocabulary``
gives it), and the control ``permuted``: training and test rows come from
one derangement of the CLIP rows of all classes (consistent, meaningless),
so a novel class is scored by another class's text.

Resumable and shareable: one JSON record per run, a lock file per run (a
second worker on the same ``out`` takes the runs the first has not).
"""
import contextlib
import copy
import json
import os
import os.path as osp
import time
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.hooks import Hook

from ..utils.checkpoint_files import atomic_write_json, remove_checkpoints
from ..utils.file_lock import LockTimeout, exclusive_lock

__all__ = [
    'ZERO_SHOT_ARMS', 'novel_classes', 'zero_shot_data', 'zero_shot_rows',
    'run_zero_shot', 'zero_shot_summary', 'zero_shot_report'
]

#: arm -> the ClipJoint method (``CLIPJOINT_VARIANTS``) trained on the base
#: classes
ZERO_SHOT_ARMS: Dict[str, str] = dict(
    clip='clipjoint', frozen='clipjoint-frozen-text',
    drift='clipjoint-drift1', centred='clipjoint-centred-bank',
    permuted='clipjoint-permuted')


def novel_classes(preset: dict) -> List[str]:
    """The preset's novel classes (``preset['novel']``), in class order."""
    from .presets import get_preset, preset_classes
    preset = get_preset(preset)
    classes = preset_classes(preset)
    novel = list(preset.get('novel') or ())
    if not novel or set(novel) - set(classes):
        raise ValueError(f'the preset names no novel classes among its '
                         f'classes (novel={novel})')
    return [c for c in classes if c in novel]


def zero_shot_rows(arm: str, classes: Sequence[str]) -> torch.Tensor:
    """Test-time rows (C, 512) of all classes: the shipped CLIP rows, or
    for ``permuted`` the derangement the training bank used (``centred``
    gets the shipped rows too: its bank centres them on its stored
    centre)."""
    from .semantic import clip_rows, text_rows
    return text_rows('permuted', classes) if arm == 'permuted' \
        else clip_rows(classes)


def zero_shot_data(data_dir: str, preset: dict, data: dict) -> dict:
    """The base-class training data of the zero-shot runs (generated once
    under ``data_dir/zeroshot``: the clean training images again, same
    seed, without the novel classes' boxes) plus the permuted base rows.

    Returns:
        dict: ``data`` with ``classes`` = the base classes, the zero-shot
        training split, ``text_rows`` of the base classes and
        ``all_classes`` / ``novel`` (the val split is unchanged).
    """
    from ..datasets import make_semantic_dataset
    from ..utils.file_lock import exclusive_lock
    from .presets import get_preset, preset_classes
    preset = get_preset(preset)
    classes = list(preset_classes(preset))
    novel = novel_classes(preset)
    base = [c for c in classes if c not in novel]
    root = osp.join(data_dir, 'zeroshot')
    stamp = osp.join(root, 'dataset.json')
    from ..datasets import SEMANTIC_GENERATOR_VERSION
    params = dict(classes=classes, novel=novel, seed=preset['data_seed'],
                  generator=SEMANTIC_GENERATOR_VERSION,
                  num_train=preset['num_train'], img_size=preset['img_size'],
                  size_range=list(preset['size_range']),
                  objects_per_image=list(preset['objects_per_image']))
    os.makedirs(root, exist_ok=True)
    with exclusive_lock(osp.join(root, 'dataset.lock')):
        saved = None
        if osp.isfile(stamp):
            with open(stamp) as f:
                saved = json.load(f)
        if saved is None or saved['params'] != params:
            info = make_semantic_dataset(
                root, classes, preset['num_train'], 0,
                (preset['img_size'], preset['img_size']),
                objects_per_image=tuple(preset['objects_per_image']),
                size_range=tuple(preset['size_range']),
                seed=preset['data_seed'], unlabelled_classes=novel)
            perm = zero_shot_rows('permuted', classes)
            rows = osp.join(root, 'text_rows_permuted_base.pt')
            torch.save(dict(embeddings=perm[[classes.index(c)
                                             for c in base]],
                            class_names=base, kind='permuted'), rows)
            saved = dict(params=params, train_ann_file=osp.join(
                'zeroshot', info['train_ann_file']),
                         train_img_prefix=osp.join(
                             'zeroshot', info['train_img_prefix']),
                         rows=osp.relpath(rows, data_dir))
            atomic_write_json(stamp, saved)
    return dict(data, classes=base, all_classes=classes, novel=novel,
                train_ann_file=saved['train_ann_file'],
                train_img_prefix=saved['train_img_prefix'],
                text_rows=dict(permuted=saved['rows']))


class _VocabularyHook(Hook):
    """Give the loaded model every class's text before the test loop."""

    priority = 'VERY_LOW'

    def __init__(self, classes: Sequence[str], rows: torch.Tensor) -> None:
        self.classes, self.rows = list(classes), rows

    def before_test(self, runner) -> None:
        from ..apis import set_vocabulary
        model = getattr(runner.model, 'module', runner.model)
        set_vocabulary(model, self.classes, self.rows, verbose=False)


def _test_all_classes(cfg, checkpoint: str, classes: Sequence[str],
                      rows: torch.Tensor, quiet: bool) -> dict:
    """Test ``checkpoint`` on the val split with every class named."""
    from mmengine.runner import Runner
    from ..utils.console import console_to_file
    cfg = copy.deepcopy(cfg)
    cfg.load_from = checkpoint
    cfg.resume = False
    # the checkpoint's state_dict holds the EMA weights already (EMAHook
    # swaps them in before saving); the EMA model would keep the old bank
    cfg.custom_hooks = [
        dict(h, check_classes=False)
        if h.get('type') in ('TextBankInitHook', 'ClipJointHook') else h
        for h in cfg.get('custom_hooks', [])
        if h.get('type') != 'EMAHook'
    ]
    cfg.test_dataloader.dataset.metainfo = dict(classes=tuple(classes))
    cfg.work_dir = osp.join(cfg.work_dir, 'all_classes')
    log = osp.join(cfg.work_dir, 'console.log') if quiet else None
    with console_to_file(log, enabled=quiet):
        runner = Runner.from_cfg(cfg)
        runner.register_hook(_VocabularyHook(classes, rows))
        return runner.test()


def zero_shot_summary(metrics: dict, classes: Sequence[str],
                      novel: Sequence[str]) -> dict:
    """AP x 1 of the novel classes, of the base classes, and mAP."""
    def ap(c):
        v = metrics.get(f'coco/{c}_precision', float('nan'))
        return 0.0 if v != v else float(v)
    base = [c for c in classes if c not in novel]
    return dict(AP_novel=float(np.mean([ap(c) for c in novel])),
                AP_base=float(np.mean([ap(c) for c in base]))
                if base else float('nan'),
                mAP=float(metrics.get('coco/bbox_mAP', 0.0)))


def run_zero_shot(preset_name: str, out: str, detector: str = 'rtmdet',
                  arms: Sequence[str] = tuple(ZERO_SHOT_ARMS),
                  seeds: Optional[Sequence[int]] = None,
                  iters: Optional[int] = None,
                  pretrain_cache: Optional[str] = None,
                  quiet: bool = True,
                  log=print,
                  report_only: bool = False) -> List[dict]:
    """Train each (arm, seed) on the base classes and evaluate it on all
    classes; one JSON record per run in ``out/zeroshot_runs`` (finished
    runs are skipped when re-run; a run another worker holds the lock of
    is left to it). ``report_only``: read the finished records, train
    nothing (runs still missing are named)."""
    from .presets import (get_preset, prepare_benchmark_data,
                          preset_pretrained)
    preset = get_preset(preset_name)
    if report_only:
        records, missing = [], []
        for seed in seeds or preset['seeds']:
            for arm in arms:
                name, path = _run_path(out, detector, arm, seed)
                rec = _finished(path)
                if rec is None:
                    missing.append(name)
                else:
                    records.append(rec)
        if missing:
            log(f'{len(missing)} runs not finished in {out}/zeroshot_runs: '
                f'{", ".join(missing)}')
        return records
    data = prepare_benchmark_data(osp.join(out, 'data'), preset)
    zdata = zero_shot_data(osp.join(out, 'data'), preset, data)
    weights = preset_pretrained(preset, detector, pretrain_cache) \
        if preset['pretrained'] else None
    os.makedirs(osp.join(out, 'zeroshot_runs'), exist_ok=True)
    records, busy = [], []
    for seed in seeds or preset['seeds']:
        for arm in arms:
            name, path = _run_path(out, detector, arm, seed)
            rec = _finished(path)
            if rec is not None:
                records.append(rec)
                continue
            with contextlib.ExitStack() as stack:
                try:
                    stack.enter_context(exclusive_lock(path + '.lock',
                                                       timeout=0))
                except LockTimeout:
                    busy.append(name)
                    continue
                rec = _finished(path)  # another worker finished it
                if rec is not None:
                    records.append(rec)
                    continue
                rec = _zero_shot_run(detector, arm, seed, name, path, out,
                                     zdata, preset, iters, weights, quiet)
            s = rec['summary']
            log(f'[{name}] AP novel {100 * s["AP_novel"]:.1f}, base '
                f'{100 * s["AP_base"]:.1f} ({rec["seconds"]:.0f} s)')
            records.append(rec)
    if busy:
        log(f'{len(busy)} runs were taken by other workers on {out} '
            f'({busy[0]}, ...); re-run the same command once they have '
            'finished for the full table.')
    return records


def _run_path(out: str, detector: str, arm: str, seed: int) -> tuple:
    """``(name, record path)`` of one zero-shot run."""
    name = f'{detector}_zs-{arm}_s{seed}'
    return name, osp.join(out, 'zeroshot_runs', name + '.json')


def _finished(path: str) -> Optional[dict]:
    """The run's record when it is finished, else None."""
    if not osp.isfile(path):
        return None
    with open(path) as f:
        return json.load(f)


def _zero_shot_run(detector: str, arm: str, seed: int, name: str,
                   path: str, out: str, zdata: dict, preset: dict,
                   iters: Optional[int], weights: Optional[str],
                   quiet: bool) -> dict:
    """Train one zero-shot run, test it on all classes, write its record
    ``path`` and return it."""
    from mmengine.runner import find_latest_checkpoint
    from .experiments import build_experiment_cfg, run_experiment
    from .presets import preset_run_kwargs
    t = time.time()
    cfg = build_experiment_cfg(
        detector, ZERO_SHOT_ARMS[arm], zdata,
        osp.join(out, 'work_dirs', name), 'clean', seed,
        **preset_run_kwargs(preset, detector, iters, weights))
    base = run_experiment(cfg, quiet=quiet, desc=name)
    ckpt = find_latest_checkpoint(cfg.work_dir)
    metrics = _test_all_classes(
        cfg, ckpt, zdata['all_classes'],
        zero_shot_rows(arm, zdata['all_classes']), quiet)
    rec = dict(detector=detector, arm=arm, seed=seed,
               iters=cfg.train_cfg.max_iters,
               seconds=time.time() - t, novel=zdata['novel'],
               summary=zero_shot_summary(
                   metrics, zdata['all_classes'], zdata['novel']),
               base_only_mAP=base['default'].get('coco/bbox_mAP'),
               metrics=metrics)
    atomic_write_json(path, rec)
    remove_checkpoints(cfg.work_dir)
    return rec


def zero_shot_report(records: Sequence[dict],
                     supervised: Sequence[dict] = ()) -> str:
    """Markdown: AP of the novel / base classes per arm (mean ± std over
    seeds), each arm minus the permuted control and the bank variants
    (frozen, drift, centred) minus the learnable CLIP bank, paired by
    seed, and the novel classes' AP of ``supervised`` runs
    (accuracy-benchmark records of the same preset trained *with* their
    boxes, clean setting) for scale."""
    from .stats import format_paired, paired_diff
    if not records:
        return 'no zero-shot runs yet\n'
    novel = records[0]['novel']
    arms = [a for a in ZERO_SHOT_ARMS if any(r['arm'] == a for r in records)]
    by = {(r['arm'], r['seed']): r['summary'] for r in records}

    def ms(vals):
        return (f'{100 * np.mean(vals):.1f} ± {100 * np.std(vals):.1f}'
                if vals else 'n/a')
    lines = [f'Novel classes (no training box): {", ".join(novel)}.', '',
             '| arm | seeds | AP novel (zero-shot) | AP base | mAP |',
             '|---|---|---|---|---|']
    for arm in arms:
        seeds = sorted(s for a, s in by if a == arm)
        lines.append(f'| {arm} | {len(seeds)} | ' + ' | '.join(
            ms([by[(arm, s)][k] for s in seeds])
            for k in ('AP_novel', 'AP_base', 'mAP')) + ' |')
    sup = {}
    for r in supervised:
        if r.get('method') == 'clipjoint' and r.get('setting') == 'clean':
            sup[r['seed']] = zero_shot_summary(r['metrics'], novel,
                                               novel)['AP_novel']
    if sup:
        lines.append(f'| supervised reference (ClipJoint trained with the '
                     f'novel boxes, det mode) | {len(sup)} | '
                     f'{ms(list(sup.values()))} | | |')
    # each arm minus the control; the bank variants also minus the
    # learnable CLIP bank (what freezing / the drift penalty / centring
    # changes)
    for ref, title in (('permuted', 'the permuted control'),
                       ('clip', 'the learnable CLIP bank (clip)')):
        others = [a for a in arms if a not in ('permuted', ref)]
        if ref not in arms or not others:
            continue
        lines += ['', f'Minus {title}, paired by seed (x 100):', '',
                  '| arm | Δ AP novel | Δ AP base |', '|---|---|---|']
        for arm in others:
            cells = []
            for k in ('AP_novel', 'AP_base'):
                a = {s: v[k] for (aa, s), v in by.items() if aa == arm}
                b = {s: v[k] for (aa, s), v in by.items() if aa == ref}
                cells.append(format_paired(paired_diff(a, b)))
            lines.append(f'| {arm} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines) + '\n'
