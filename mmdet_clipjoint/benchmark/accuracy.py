# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""The accuracy benchmark: stock detectors, their long-tail peers and
ClipJoint trained and evaluated side by side on the synthetic benchmark.

With identical data, schedule, initialisation and seeds it trains and
evaluates every (detector, method, setting, seed) of the plan, one JSON
record per run in ``out/runs`` (:func:`run_one`). A re-run skips finished
runs of the same schedule and initialisation; two workers on one ``out``
share the plan through lock files. The report is written by
:mod:`.accuracy_report`; the command line is ``tools/benchmark_accuracy.py``.
"""
import contextlib
import json
import os
import os.path as osp
import sys
import time
from typing import Callable, List, Optional, Sequence

from ..utils.checkpoint_files import (atomic_write_json,
                                       remove_checkpoints)
from ..utils.file_lock import LockTimeout, exclusive_lock
from .accuracy_report import summarise, write_report
from .experiments import (CLIPJOINT_VARIANTS, DETECTORS, build_experiment_cfg,
                          run_experiment)
from .presets import (count_instances, get_preset, prepare_benchmark_data,
                      preset_class_order, preset_pretrained, preset_run_data,
                      preset_run_kwargs, rare_classes)
from .pretrain import load_pretrain_stamp

__all__ = [
    'check_methods', 'default_out_dir', 'run_one', 'stored_runs',
    'run_accuracy_benchmark'
]


def check_methods(methods: Optional[Sequence[str]],
                  detectors: Sequence[str]) -> None:
    """Raise ``ValueError`` naming the choices for an unknown method."""
    known = {m for d in detectors for m in DETECTORS[d]['methods']}
    for m in methods or ():
        if m not in CLIPJOINT_VARIANTS and m not in known:
            every = sorted({x for d in DETECTORS
                            for x in DETECTORS[d]['methods']})
            raise ValueError(f'unknown method {m!r}; choose from {every} '
                             f'or {list(CLIPJOINT_VARIANTS)}')


def default_out_dir(preset_name: str, pretrained: bool) -> str:
    """``outputs/benchmark_<preset>``, ``_scratch`` when a pre-trained
    preset runs from random weights."""
    scratch = get_preset(preset_name)['pretrained'] and not pretrained
    return f'outputs/benchmark_{preset_name}' + ('_scratch' if scratch
                                                 else '')


def _schedule_of(preset: dict, det: str, iters: Optional[int]) -> int:
    return iters or preset['iters'][det]


def _matches(rec: dict, preset: dict, iters: Optional[int],
             init: str) -> bool:
    """A record of this schedule and initialisation (not an older preset's,
    another ``--iters``' or the other regime's)."""
    return rec.get('iters') == _schedule_of(preset, rec['detector'], iters) \
        and rec.get('init', 'scratch') == init


def _init_name(weights: Optional[dict], det: str) -> str:
    return osp.basename(weights[det]) if weights else 'scratch'


def stored_runs(out: str, detectors: Sequence[str], preset: dict,
                iters: Optional[int], weights: Optional[dict]) -> List[dict]:
    """Every finished record in ``out/runs`` of this preset's schedule and
    initialisation (whatever command made it), for ``--report-only``."""
    runs = []
    for name in sorted(os.listdir(osp.join(out, 'runs'))):
        if not name.endswith('.json'):
            continue
        with open(osp.join(out, 'runs', name)) as f:
            rec = json.load(f)
        if rec['detector'] in detectors and _matches(
                rec, preset, iters, _init_name(weights, rec['detector'])):
            runs.append(rec)
    return runs


def run_one(preset: dict, data: dict, out: str, det: str, method: str,
            setting: str, seed: int, path: str, init: str,
            pretrained: Optional[str], iters: Optional[int] = None,
            clip_pretrained: Optional[str] = None,
            keep_checkpoints: bool = False,
            verbose: bool = False) -> dict:
    """Train + evaluate one run; its record is written to ``path``
    atomically (a killed run leaves no half file) and returned.

    ClipJoint runs are also evaluated in the ``fuse`` and ``clip`` score
    modes (same checkpoint); stock runs also validate half way (is the
    schedule at stock's plateau?).
    """
    name = osp.basename(path)[:-len('.json')]
    rare = rare_classes(data['classes'], preset_class_order(preset))
    run_data = preset_run_data(preset, data, setting)
    cfg = build_experiment_cfg(
        det, method, run_data, osp.join(out, 'work_dirs', name), setting,
        seed, clip_pretrained=clip_pretrained,
        **preset_run_kwargs(preset, det, iters, pretrained))
    t = time.time()
    is_cj = method in CLIPJOINT_VARIANTS
    res = run_experiment(
        cfg, score_modes=('fuse', 'clip') if is_cj else (),
        curve_every=None if is_cj else cfg.train_cfg.max_iters // 2,
        quiet=not verbose, desc=name)
    if not res['train_stats'].get('class_counts'):
        # no subsampling wrapper: the counts of the training split itself
        res['train_stats']['class_counts'] = count_instances(run_data)
    rec = dict(detector=det, method=method, setting=setting, seed=seed,
               iters=cfg.train_cfg.max_iters, init=init,
               seconds=time.time() - t,
               summary=summarise(res['default'], data['classes'], rare),
               score_modes={
                   k: summarise(v, data['classes'], rare)
                   for k, v in res.items()
                   if k not in ('train_stats', 'curve', 'console_log')
               } if is_cj else {},
               curve=res['curve'],
               metrics=res['default'], train_stats=res['train_stats'],
               console_log=res['console_log'])
    atomic_write_json(path, rec)
    if not keep_checkpoints:
        remove_checkpoints(cfg.work_dir)
    return rec


def _pretrained_starts(preset: dict, detectors: Sequence[str],
                       cache: Optional[str]):
    """The pre-trained start of each detector: trained once, then cached; a
    detector that another worker is pre-training is left for last."""
    weights, stamps = {}, {}
    pending, deferred = list(detectors), set()
    while pending:
        det = pending.pop(0)
        path = preset_pretrained(preset, det, cache,
                                 wait=det in deferred or not pending)
        if path is None:
            deferred.add(det)
            pending.append(det)
            continue
        weights[det], stamps[det] = path, load_pretrain_stamp(path)
    return weights, stamps


def run_accuracy_benchmark(preset_name: str,
                           out: Optional[str] = None,
                           detectors: Sequence[str] = tuple(DETECTORS),
                           methods: Optional[Sequence[str]] = None,
                           settings: Optional[Sequence[str]] = None,
                           seeds: Optional[Sequence[int]] = None,
                           iters: Optional[int] = None,
                           pretrained: Optional[bool] = None,
                           pretrain_cache: Optional[str] = None,
                           report_only: bool = False,
                           pretrain_only: bool = False,
                           clip_pretrained: Optional[str] = None,
                           keep_checkpoints: bool = False,
                           progress: bool = True,
                           verbose: bool = False,
                           log: Callable[[str], None] = print) -> List[dict]:
    """Run (or resume) the benchmark and write ``out/results.md`` / ``.png``.

    Args:
        preset_name: Key of :data:`~.presets.PRESETS`.
        out: Output directory (default :func:`default_out_dir`).
        detectors / methods / settings / seeds: The plan (default: every
            method of each detector, the preset's settings and seeds);
            ``methods`` also takes ClipJoint variants
            (:data:`~.experiments.CLIPJOINT_VARIANTS`).
        iters: Override the iterations of every run.
        pretrained: Initialise backbone + neck from the synthetic
            pre-training (default: as the preset says).
        pretrain_cache: Cache of the pre-trained weights.
        report_only: Train nothing; table every stored run of this schedule.
        pretrain_only: Only make sure the pre-trained starts exist.
        clip_pretrained: open_clip checkpoint for the text bank.
        keep_checkpoints: Keep each run's checkpoint.
        progress: Show a progress bar over the runs.
        verbose: Each run's logs on the console too (default: in
            ``<work_dir>/console.log``, with progress bars instead).
        log: Where the report and messages go.

    Returns:
        list[dict]: The run records of the plan (every stored run under
        ``report_only``; ``[]`` under ``pretrain_only``).
    """
    detectors = list(detectors)
    check_methods(methods, detectors)
    preset = get_preset(preset_name)
    use_pt = preset['pretrained'] if pretrained is None else pretrained
    out = out or default_out_dir(preset_name, use_pt)
    os.makedirs(osp.join(out, 'runs'), exist_ok=True)
    seeds = seeds or preset['seeds']
    settings = settings or preset['settings']
    t0 = time.time()
    if report_only and not any(
            n.endswith('.json') for n in os.listdir(osp.join(out, 'runs'))):
        # before the data and the pre-training: nothing to report
        raise FileNotFoundError(
            f'--report-only: no run records in {osp.join(out, "runs")}. '
            'Run the benchmark without --report-only first, or give --out '
            'the folder that holds the runs.')
    data = prepare_benchmark_data(osp.join(out, 'data'), preset)
    weights, stamps = _pretrained_starts(
        preset, detectors if use_pt else [], pretrain_cache)
    if report_only:
        runs = stored_runs(out, detectors, preset, iters,
                           weights if use_pt else None)
        if not runs:
            raise ValueError(
                f'--report-only: none of the run records in '
                f'{osp.join(out, "runs")} is of detectors {list(detectors)} '
                f'with preset {preset_name!r}\'s schedule'
                f'{f" (--iters {iters})" if iters else ""} and '
                'initialisation; give the --preset / --detectors / --iters '
                'the runs were made with.')
        md = write_report(out, runs, preset_name, preset, time.time() - t0,
                          data, stamps or None)
        log('\n' + md)
        log(f'results: {osp.join(out, "results.md")} ({len(runs)} runs)')
        return runs
    if pretrain_only:
        for det, st in stamps.items():
            log(f'{det}: {weights[det]} (source val mAP '
                f'{100 * st["val_mAP"]:.1f}, {st["seconds"]:.0f} s, loss '
                f'by tenths {st.get("loss_curve")})')
        return []
    # seed-major order: an interrupted benchmark (re-runs skip finished
    # runs) still holds complete method comparisons for the first seeds
    methods = methods or preset['methods']
    plan = [(det, m, s, seed) for seed in seeds for s in settings
            for det in detectors
            for m in (methods or DETECTORS[det]['methods'])
            if m in DETECTORS[det]['methods'] or m in CLIPJOINT_VARIANTS]
    from tqdm import tqdm
    runs, busy = [], []
    bar = tqdm(plan, desc='runs', unit='run', file=sys.stdout,
               disable=not progress)
    for det, method, setting, seed in bar:
        name = f'{det}_{method}_{setting}_s{seed}'
        bar.set_postfix_str(name)
        path = osp.join(out, 'runs', name + '.json')
        init = _init_name(weights if use_pt else None, det)
        if osp.isfile(path):
            with open(path) as f:
                rec = json.load(f)
            # a record of another schedule or initialisation is run again
            # rather than mixed in
            if _matches(rec, preset, iters, init):
                runs.append(rec)
                continue
        with contextlib.ExitStack() as stack:
            try:
                stack.enter_context(exclusive_lock(path + '.lock', timeout=0))
            except LockTimeout:
                busy.append(name)  # another worker on the same out runs it
                continue
            runs.append(
                run_one(preset, data, out, det, method, setting, seed, path,
                        init, weights.get(det), iters, clip_pretrained,
                        keep_checkpoints, verbose))
    if busy:
        log(f'{len(busy)} runs were taken by other workers on {out} '
            f'({busy[0]}, ...); the table below lacks them. Re-run the same '
            'command once they have finished for the full table.')
    md = write_report(out, runs, preset_name, preset, time.time() - t0, data,
                      stamps or None)
    log('\n' + md)
    log(f'results: {osp.join(out, "results.md")}, '
        f'{osp.join(out, "results.png")}; per-run JSON in '
        f'{osp.join(out, "runs")}')
    return runs
