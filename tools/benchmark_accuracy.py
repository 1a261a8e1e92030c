# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Accuracy of stock detectors, their long-tail peers and ClipJoint, side by
side, on the synthetic benchmark under label stress.

With identical data, schedule, initialisation and seeds it trains and
evaluates, for Faster R-CNN: stock, NormedLinear (cosine classifier), Seesaw
loss and ClipJoint; for RTMDet-tiny: stock and ClipJoint -- under the
settings clean, imbalanced (long tail, ratio 50), noisy (30 % label noise)
and both. It writes a markdown table (mAP, mAP50 and the AP of the rarest
third of the classes; mean +- std over seeds), each method minus stock
paired by seed with a 95 % t-interval and a verdict (win / loss only when
the interval excludes 0), a PNG plot and per-run JSON files (a re-run skips
finished runs), and prints the table. ClipJoint runs are also evaluated
with the ``fuse`` and ``clip`` score modes (same checkpoint). ``--methods``
also takes ClipJoint ablation variants (see
``mmdet_clipjoint.utils.experiments.CLIPJOINT_VARIANTS``).

Presets (``mmdet_clipjoint.utils.benchmark_presets.PRESETS``): ``smoke``
(CI), ``cpu`` (from scratch), ``cpu-pt`` (backbone + neck from a cached
synthetic pre-training on a disjoint source vocabulary, 5 seeds),
``cpu-pt-b`` (the same on benchmark B: other vocabulary and generator seed,
class-dependent noise, random rare classes) and ``gpu``. ``--no-pretrained``
runs a pre-trained preset from scratch.

Examples:
    python tools/benchmark_accuracy.py --preset smoke
    python tools/benchmark_accuracy.py --preset cpu --out docs/results/accuracy_cpu
    # pre-train once per detector (cached), one shell each ...
    python tools/benchmark_accuracy.py --preset cpu-pt --pretrain-only \\
        --threads 1 --detectors frcnn
    # ... then two workers (two shells) share the runs of one --out
    python tools/benchmark_accuracy.py --preset cpu-pt --threads 1 \\
        --out outputs/benchmark_cpu-pt
    python tools/benchmark_accuracy.py --preset cpu --detectors rtmdet \\
        --settings clean --methods clipjoint-no-aux clipjoint-tau0.2 \\
        --out docs/results/accuracy_cpu_ablation
"""
import argparse
import json
import os
import os.path as osp
import platform
import sys
import time
from collections import defaultdict

import numpy as np

import mmdet_clipjoint  # noqa: F401
from mmdet_clipjoint.utils.benchmark_presets import (
    LR, PRESETS, count_instances, get_preset, prepare_benchmark_data,
    preset_class_order, preset_pretrained, preset_run_data, preset_run_kwargs,
    rare_classes)
from mmdet_clipjoint.utils.experiments import (CLIPJOINT_VARIANTS, DETECTORS,
                                               SETTINGS, build_experiment_cfg,
                                               run_experiment)
from mmdet_clipjoint.utils.pretrain import load_pretrain_stamp
from mmdet_clipjoint.utils.stats import format_paired, paired_diff

METHOD_NAMES = dict(stock='stock (CE)', normed='NormedLinear',
                    seesaw='Seesaw', clipjoint='ClipJoint')


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--preset', choices=list(PRESETS), default='smoke')
    p.add_argument('--out', default=None,
                   help='output dir (default outputs/benchmark_<preset>, '
                   'with a _scratch suffix under --no-pretrained)')
    p.add_argument('--detectors', nargs='+', default=list(DETECTORS),
                   choices=list(DETECTORS))
    p.add_argument('--methods', nargs='+', default=None,
                   help='methods to run (default: all per detector); also '
                   'ClipJoint ablation variants: ' +
                   ', '.join(v for v in CLIPJOINT_VARIANTS if v != 'clipjoint'))
    p.add_argument('--settings', nargs='+', default=None,
                   choices=list(SETTINGS))
    p.add_argument('--seeds', nargs='+', type=int, default=None)
    p.add_argument('--iters', type=int, default=None,
                   help='override the iterations of every run')
    p.add_argument('--pretrained', action=argparse.BooleanOptionalAction,
                   default=None,
                   help='initialise backbone + neck from the synthetic '
                   'pre-training (default: as the preset says; smoke, '
                   'cpu-pt and cpu-pt-b do)')
    p.add_argument('--pretrain-cache', default=None,
                   help='cache of the pre-trained weights (default: '
                   '$MMDET_CLIPJOINT_PRETRAIN_CACHE or '
                   '~/.cache/mmdet_clipjoint/pretrain); trained there once '
                   'per detector when missing')
    p.add_argument('--report-only', action='store_true',
                   help='train nothing: rewrite results.md / results.png '
                   'from every finished run in --out/runs of this preset\'s '
                   'schedule (e.g. after several commands with different '
                   '--methods / --settings)')
    p.add_argument('--pretrain-only', action='store_true',
                   help='only make sure the pre-trained start of each '
                   '--detectors exists (e.g. one shell per detector), then '
                   'exit')
    p.add_argument('--clip-pretrained', default=None,
                   help='open_clip ViT-B-32 checkpoint to initialise the '
                   'text bank (default: random init; no weights offline)')
    p.add_argument('--threads', type=int, default=None,
                   help='torch threads (default: min(2, cores)); for two '
                   'workers on one --out (they share the runs through lock '
                   'files), give each half the cores')
    p.add_argument('--keep-checkpoints', action='store_true',
                   help='keep each run\'s checkpoint (default: delete it '
                   'once the run is evaluated; logs are kept)')
    p.add_argument('--device', default=None,
                   help='unused on CPU; runs use CUDA if available')
    return p.parse_args(argv)


def summarise(metrics, classes, rare=None):
    """mAP, mAP50 and the mean AP of the ``rare`` classes (default: the last
    third of ``classes``)."""
    if 'coco/bbox_mAP' not in metrics:
        # CocoMetric returns nothing when no box passed the score threshold
        return dict(mAP=0.0, mAP50=0.0, AP_rare=0.0, empty=True)
    rare = [metrics.get(f'coco/{c}_precision', float('nan'))
            for c in (rare if rare is not None else rare_classes(classes))]
    rare = [0.0 if np.isnan(v) else v for v in rare]
    return dict(mAP=metrics['coco/bbox_mAP'],
                mAP50=metrics['coco/bbox_mAP_50'],
                AP_rare=float(np.mean(rare)))


def fmt(vals):
    vals = [v for v in vals if v is not None]
    if not vals:
        return 'n/a'
    if len(vals) == 1:
        return f'{100 * vals[0]:.1f}'
    return f'{100 * np.mean(vals):.1f} ± {100 * np.std(vals):.1f}'


def write_report(out, runs, name, preset, elapsed, data, pretrain=None):
    """Markdown table + PNG plot from the per-run records.

    Args:
        out: Output directory.
        runs: Per-run records.
        name: Preset name.
        preset: The preset (:func:`get_preset`).
        elapsed: Seconds of this invocation.
        data: The benchmark data (``make_synthetic_dataset`` output).
        pretrain: ``{detector: stamp}`` of the pre-trained start, or None
            for runs from random weights.
    """
    import torch
    classes = data['classes']
    settings = [s for s in SETTINGS if any(r['setting'] == s for r in runs)]
    table = defaultdict(lambda: defaultdict(list))
    modes = defaultdict(lambda: defaultdict(list))
    for r in runs:
        table[(r['detector'], r['method'])][r['setting']].append(r['summary'])
        for mode, summ in r.get('score_modes', {}).items():
            modes[(r['detector'], r['method'],
                   r['setting'])][mode].append(summ['mAP'])
    lines = [
        '| detector | method | ' + ' | '.join(
            f'{s} mAP | {s} mAP50 | {s} AP rare' for s in settings) + ' |',
        '|---|---|' + '---|' * (3 * len(settings))
    ]
    for det in DETECTORS:
        for method in _methods_of(det, table):
            row = table.get((det, method))
            if not row:
                continue
            cells = []
            for s in settings:
                summ = row.get(s, [])
                for key in ('mAP', 'mAP50', 'AP_rare'):
                    cells.append(fmt([x[key] for x in summ]))
            lines.append(f'| {DETECTORS[det]["name"]} | '
                         f'{METHOD_NAMES.get(method, method)} | ' +
                         ' | '.join(cells) +
                         ' |')
    seeds = sorted({r['seed'] for r in runs})
    rare = rare_classes(classes, preset_class_order(preset))
    noise = ('symmetric' if preset['noise_type'] == 'symmetric' else
             'pairwise (class-dependent, to each class\'s confusable '
             'partner)')
    tail = ('subsampled from the clean images by LongTailDataset'
            if preset['long_tail'] == 'subsample' else
            'a generated long-tailed training set of as many images')
    header = [
        f'Preset `{name}`, seeds {seeds}, {len(runs)} runs; '
        f'{sum(r["seconds"] for r in runs) / 60:.0f} min of training + '
        'evaluation summed over the runs (this invocation: '
        f'{elapsed / 60:.1f} min wall) on '
        f'{platform.processor() or platform.machine()} '
        f'({os.cpu_count()} cores), torch threads per worker = '
        f'{torch.get_num_threads()}.',
        f'Schedule: {_schedule(runs, preset)}.',
        f'Initialisation: {_init_line(pretrain)}.',
        f'Data: synthetic benchmark {preset["dataset"]} (generator seed '
        f'{preset["data_seed"]}), {preset["num_train"]} train / '
        f'{preset["num_val"]} val images of {preset["img_size"]} px, '
        f'{len(classes)} classes; label noise {noise}; long tail: {tail}; '
        f'rare third = {rare}.',
        f'Training instances per setting: {_instances_line(runs, data)}.',
        'Values: COCO bbox AP x 100, mean ± std over seeds.', ''
    ]
    mode_lines = ['', '### ClipJoint score modes (mAP x 100, same checkpoints)',
                  '', '| detector | method | setting | ' + ' | '.join(
                      ('det (config default)', 'fuse', 'clip')) + ' |',
                  '|---|---|---|---|---|---|']
    for (det, method, setting), by_mode in sorted(modes.items()):
        mode_lines.append(
            f'| {DETECTORS[det]["name"]} | {method} | {setting} | ' +
            ' | '.join(
                fmt(by_mode.get(m, [])) for m in ('default', 'fuse', 'clip')) +
            ' |')
    md = '\n'.join(header + lines + _paired_lines(runs, settings) +
                   (mode_lines if modes else []) + _curve_lines(runs) +
                   _stress_lines(runs)) + '\n'
    with open(osp.join(out, 'results.md'), 'w') as f:
        f.write(md)
    _plot(out, table, settings)
    return md


def _init_line(pretrain):
    if not pretrain:
        return 'random weights (from scratch)'
    parts = []
    for det, st in pretrain.items():
        p = st['params']
        parts.append(
            f'{DETECTORS[det]["name"]} backbone + neck from `{st["file"]}` '
            f'(stock, {p["max_iters"]} iterations at batch '
            f'{p["batch_size"]} on {p["num_train"]} synthetic source images '
            f'of {len(p["classes"])} classes disjoint from the benchmark\'s; '
            f'source val mAP {100 * st["val_mAP"]:.1f})')
    return '; '.join(parts)


def _instances_line(runs, data):
    """Realised training instances of each setting (range over the runs
    and share of clean; clean: the generated set)."""
    clean = sum(count_instances(data))
    totals = defaultdict(list)
    for r in runs:
        counts = (r.get('train_stats') or {}).get('class_counts')
        if counts:
            totals[r['setting']].append(sum(counts))
    parts = [f'clean {clean}']
    for s in SETTINGS:
        if s != 'clean' and totals.get(s):
            lo, hi = min(totals[s]), max(totals[s])
            n = f'{lo}' if lo == hi else f'{lo}-{hi}'
            parts.append(f'{s} {n} ({100 * np.mean(totals[s]) / clean:.0f} '
                         '%)')
    return ', '.join(parts)


def _paired_lines(runs, settings):
    """Each method minus the stock detector, then ClipJoint minus each
    long-tail peer (NormedLinear, Seesaw), paired by seed."""
    return _minus_lines(runs, settings, 'stock') + _minus_lines(
        runs, settings, ('normed', 'seesaw'))


def _minus_lines(runs, settings, reference):
    """Methods minus ``reference`` (a method, or a tuple of peers that the
    ClipJoint runs are compared with), paired by seed.

    The seeds share data, stress and initialisation, so the per-seed
    difference is a sharper comparison than two overlapping mean +- std
    (:func:`mmdet_clipjoint.utils.stats.paired_diff`).
    """
    by_key = {(r['detector'], r['method'], r['setting'], r['seed']):
              r['summary'] for r in runs}
    lines = []
    pairs = []
    for det in DETECTORS:
        methods = _methods_of(det, {(d, m): 1 for d, m, _, _ in by_key})
        if reference == 'stock':
            pairs += [(det, m, 'stock') for m in methods if m != 'stock']
        else:
            pairs += [(det, m, ref) for ref in reference for m in methods
                      if m in CLIPJOINT_VARIANTS]
    for det, method, ref in pairs:
        cells, seen = [], False
        for s in settings:
            for k in ('mAP', 'AP_rare'):
                a = {seed: v[k] for (d, m, st, seed), v in by_key.items()
                     if (d, m, st) == (det, method, s)}
                b = {seed: v[k] for (d, m, st, seed), v in by_key.items()
                     if (d, m, st) == (det, ref, s)}
                diff = paired_diff(a, b)
                seen |= diff['n'] > 0
                cells.append(format_paired(diff))
        if seen:
            name = METHOD_NAMES.get(method, method)
            if reference != 'stock':
                name += f' − {METHOD_NAMES.get(ref, ref)}'
            lines.append(f'| {DETECTORS[det]["name"]} | {name} | ' +
                         ' | '.join(cells) + ' |')
    if not lines:
        return []
    title = ('Minus the stock detector' if reference == 'stock' else
             'ClipJoint minus the long-tail peers')
    return [
        '', f'### {title}, paired by seed (x 100)', '',
        'Per cell: mean over seeds of the difference with the same seed, '
        '[95 % t-interval], seeds where the first method is ahead / paired '
        'seeds, verdict: win (loss) only when the interval lies above '
        '(below) 0, otherwise tie.', '',
        '| detector | method | ' + ' | '.join(
            f'{s} Δ mAP | {s} Δ AP rare' for s in settings) + ' |',
        '|---|---|' + '---|' * (2 * len(settings))
    ] + lines


def _schedule(runs, preset):
    """Iterations (as recorded by the runs), batch and lr per detector."""
    parts = []
    for det in DETECTORS:
        iters = sorted({r['iters'] for r in runs if r['detector'] == det})
        if iters:
            parts.append(f'{DETECTORS[det]["name"]} '
                         f'{"/".join(map(str, iters))} iterations at batch '
                         f'{preset["batch"][det]}, lr {LR[det]}')
    return '; '.join(parts)


def _stress_lines(runs):
    """Realised stress of the training sets (from the runs' train_stats)."""
    by_setting = defaultdict(dict)
    for r in runs:
        stats = r.get('train_stats') or {}
        if stats:
            by_setting[r['setting']][(r['detector'], r['seed'])] = stats
    if not by_setting:
        return []
    lines = ['', '### Realised training-set stress (per seed, from the '
             'wrappers\' logs)', '',
             '| setting | detector | seed | instances | head / tail count '
             '| realised noise rate |', '|---|---|---|---|---|---|']
    for setting in SETTINGS:
        for (det, seed), st in sorted(by_setting.get(setting, {}).items()):
            counts = np.asarray(st.get('class_counts', []))
            ratio = (f'{counts.max()} / {counts.min()}'
                     if counts.size else 'n/a')
            noise = 'n/a'
            if st.get('noise_matrix'):
                m = np.asarray(st['noise_matrix'], dtype=float)
                noise = f'{1 - np.trace(m) / max(m.sum(), 1):.3f}'
            lines.append(f'| {setting} | {DETECTORS[det]["name"]} | {seed} '
                         f'| {int(counts.sum()) if counts.size else "n/a"} '
                         f'| {ratio} | {noise} |')
    return lines


def _curve_lines(runs):
    """Stock validation mAP half way and at the end of the schedule, per
    detector and setting: has the schedule reached stock's plateau?"""
    curves = defaultdict(lambda: defaultdict(list))
    for r in runs:
        for it, m in r.get('curve') or []:
            if r['method'] == 'stock' and len(r['curve']) > 1:
                curves[(r['detector'], r['setting'])][it].append(m)
    if not curves:
        return []
    lines = ['', '### Stock learning curve (validation mAP x 100 along the '
             'schedule, mean ± std over seeds)', '',
             '| detector | setting | mAP at iteration ... |',
             '|---|---|---|']
    for (det, setting), by_it in sorted(curves.items()):
        pts = ', '.join(f'{it}: {fmt(v)}' for it, v in sorted(by_it.items()))
        lines.append(f'| {DETECTORS[det]["name"]} | {setting} | {pts} |')
    return lines


def _stored_runs(out, args, preset, weights):
    """Every finished record in ``out/runs`` of this preset's schedule and
    initialisation (whatever command made it), for ``--report-only``."""
    runs = []
    for name in sorted(os.listdir(osp.join(out, 'runs'))):
        if not name.endswith('.json'):
            continue
        with open(osp.join(out, 'runs', name)) as f:
            rec = json.load(f)
        det = rec['detector']
        if det not in args.detectors:
            continue
        init = osp.basename(weights[det]) if weights else 'scratch'
        if rec.get('iters') == (args.iters or preset['iters'][det]) and \
                rec.get('init', 'scratch') == init:
            runs.append(rec)
    return runs


def _remove_checkpoints(work_dir):
    for root, _, files in os.walk(work_dir):
        for f in files:
            if f.endswith('.pth') or f == 'last_checkpoint':
                os.remove(osp.join(root, f))


def _methods_of(det, table):
    """The detector's methods, then the ClipJoint variants that ran."""
    extra = [m for m in CLIPJOINT_VARIANTS
             if (det, m) in table and m not in DETECTORS[det]['methods']]
    return list(DETECTORS[det]['methods']) + extra


def _plot(out, table, settings):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    dets = [d for d in DETECTORS if any(k[0] == d for k in table)]
    fig, axes = plt.subplots(1, len(dets), figsize=(6 * len(dets), 4),
                             squeeze=False)
    for ax, det in zip(axes[0], dets):
        methods = [m for m in _methods_of(det, table) if (det, m) in table]
        width = 0.8 / max(len(methods), 1)
        for k, m in enumerate(methods):
            mean = [100 * np.mean([x['mAP'] for x in table[(det, m)][s]])
                    if table[(det, m)][s] else 0 for s in settings]
            std = [100 * np.std([x['mAP'] for x in table[(det, m)][s]])
                   if table[(det, m)][s] else 0 for s in settings]
            ax.bar(np.arange(len(settings)) + k * width, mean, width,
                   yerr=std, label=METHOD_NAMES.get(m, m), capsize=2)
        ax.set_xticks(np.arange(len(settings)) + 0.4 - width / 2)
        ax.set_xticklabels(settings)
        ax.set_ylabel('bbox mAP x 100')
        ax.set_title(DETECTORS[det]['name'])
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(osp.join(out, 'results.png'), dpi=100)
    plt.close(fig)


def _claim(lock):
    """Take a run for this process; False if a live worker holds it."""
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            try:
                with open(lock) as f:
                    os.kill(int(f.read().strip() or 0), 0)
                return False  # the holder is alive
            except (ProcessLookupError, ValueError, FileNotFoundError):
                # stale lock of a killed worker (or one just released)
                try:
                    os.remove(lock)
                except FileNotFoundError:
                    pass
                continue
            except PermissionError:
                return False  # alive, another user's process
        with os.fdopen(fd, 'w') as f:
            f.write(str(os.getpid()))
        return True
    return False


def _run_one(args, preset, data, out, det, method, setting, seed, path,
             init, pretrained):
    """Train + evaluate one run; its record is written to ``path``."""
    name = osp.basename(path)[:-len('.json')]
    rare = rare_classes(data['classes'], preset_class_order(preset))
    run_data = preset_run_data(preset, data, setting)
    cfg = build_experiment_cfg(
        det, method, run_data, osp.join(out, 'work_dirs', name), setting,
        seed, clip_pretrained=args.clip_pretrained,
        **preset_run_kwargs(preset, det, args.iters, pretrained))
    t = time.time()
    is_cj = method in CLIPJOINT_VARIANTS
    # stock runs also validate half way: is the schedule at stock's plateau?
    res = run_experiment(
        cfg, score_modes=('fuse', 'clip') if is_cj else (),
        curve_every=None if is_cj else cfg.train_cfg.max_iters // 2)
    if not res['train_stats'].get('class_counts'):
        # no subsampling wrapper: the counts of the training split itself
        res['train_stats']['class_counts'] = count_instances(run_data)
    rec = dict(detector=det, method=method, setting=setting, seed=seed,
               iters=cfg.train_cfg.max_iters, init=init,
               seconds=time.time() - t,
               summary=summarise(res['default'], data['classes'], rare),
               score_modes={
                   k: summarise(v, data['classes'], rare)
                   for k, v in res.items() if k not in ('train_stats', 'curve')
               } if is_cj else {},
               curve=res['curve'],
               metrics=res['default'], train_stats=res['train_stats'])
    with open(path + '.tmp', 'w') as f:
        json.dump(rec, f, indent=1)
    os.replace(path + '.tmp', path)  # a killed run leaves no half file
    if not args.keep_checkpoints:
        _remove_checkpoints(cfg.work_dir)
    return rec


def main(argv=None):
    args = parse_args(argv)
    import torch
    torch.set_num_threads(args.threads or min(2, os.cpu_count() or 1))
    preset = get_preset(args.preset)
    use_pt = preset['pretrained'] if args.pretrained is None \
        else args.pretrained
    out = args.out or (f'outputs/benchmark_{args.preset}' +
                       ('_scratch' if preset['pretrained'] and not use_pt
                        else ''))
    os.makedirs(osp.join(out, 'runs'), exist_ok=True)
    seeds = args.seeds or preset['seeds']
    settings = args.settings or preset['settings']
    t0 = time.time()
    for m in args.methods or ():
        if m not in CLIPJOINT_VARIANTS and not any(
                m in DETECTORS[d]['methods'] for d in args.detectors):
            sys.exit(f'unknown method {m!r}; choose from '
                     f'{sorted({x for d in DETECTORS for x in DETECTORS[d]["methods"]})}'
                     f' or {list(CLIPJOINT_VARIANTS)}')
    data = prepare_benchmark_data(osp.join(out, 'data'), preset)
    # the pre-trained start of each detector: trained once, then cached; a
    # detector that another worker is pre-training is left for last
    weights, stamps = {}, {}
    pending, deferred = list(args.detectors) if use_pt else [], set()
    while pending:
        det = pending.pop(0)
        path = preset_pretrained(preset, det, args.pretrain_cache,
                                 wait=det in deferred or not pending)
        if path is None:
            deferred.add(det)
            pending.append(det)
            continue
        weights[det], stamps[det] = path, load_pretrain_stamp(path)
    if args.report_only:
        runs = _stored_runs(out, args, preset, weights if use_pt else None)
        md = write_report(out, runs, args.preset, preset, time.time() - t0,
                          data, stamps or None)
        print('\n' + md)
        print(f'results: {osp.join(out, "results.md")} ({len(runs)} runs)')
        return runs
    if args.pretrain_only:
        for det, st in stamps.items():
            print(f'{det}: {weights[det]} (source val mAP '
                  f'{100 * st["val_mAP"]:.1f}, {st["seconds"]:.0f} s, loss '
                  f'by tenths {st.get("loss_curve")})')
        return []
    # seed-major order: an interrupted benchmark (re-runs skip finished
    # runs) still holds complete method comparisons for the first seeds
    plan = [(det, m, s, seed) for seed in seeds for s in settings
            for det in args.detectors
            for m in (args.methods or DETECTORS[det]['methods'])
            if m in DETECTORS[det]['methods'] or m in CLIPJOINT_VARIANTS]
    runs = []
    from tqdm import tqdm
    bar = tqdm(plan, desc='runs', unit='run', file=sys.stdout)
    busy = []
    for det, method, setting, seed in bar:
        name = f'{det}_{method}_{setting}_s{seed}'
        bar.set_postfix_str(name)
        path = osp.join(out, 'runs', name + '.json')
        init = osp.basename(weights[det]) if use_pt else 'scratch'
        if osp.isfile(path):
            with open(path) as f:
                rec = json.load(f)
            # a record of another schedule (an older preset, --iters) or
            # another initialisation is run again rather than mixed in
            if rec.get('iters') == (args.iters or preset['iters'][det]) \
                    and rec.get('init', 'scratch') == init:
                runs.append(rec)
                continue
        if not _claim(path + '.lock'):
            busy.append(name)  # another worker on the same --out runs it
            continue
        try:
            rec = _run_one(args, preset, data, out, det, method, setting,
                           seed, path, init, weights.get(det))
        finally:
            os.remove(path + '.lock')
        runs.append(rec)
    if busy:
        print(f'{len(busy)} runs were taken by other workers on {out} '
              f'({busy[0]}, ...); the table below lacks them. Re-run the same '
              'command once they have finished for the full table.')
    md = write_report(out, runs, args.preset, preset, time.time() - t0,
                      data, stamps or None)
    print('\n' + md)
    print(f'results: {osp.join(out, "results.md")}, '
          f'{osp.join(out, "results.png")}; per-run JSON in '
          f'{osp.join(out, "runs")}')
    return runs


if __name__ == '__main__':
    main()
