# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Accuracy of stock detectors, their long-tail peers and ClipJoint, side by
side, on the synthetic benchmark under label stress.

With identical data, schedule and seeds it trains and evaluates, for
Faster R-CNN: stock, NormedLinear (cosine classifier), Seesaw loss and
ClipJoint; for RTMDet-tiny: stock and ClipJoint -- under the settings clean,
imbalanced (long tail, ratio 50), noisy (30 % symmetric label noise) and
both. It writes a markdown table (mAP, mAP50 and the AP of the rarest third
of the classes; mean +- std over seeds), a PNG plot and per-run JSON files
(a re-run skips finished runs), and prints the table. ClipJoint runs are
also evaluated with the ``fuse`` and ``clip`` score modes (same checkpoint).
``--methods`` also takes ClipJoint ablation variants (loss weights,
temperature, background entry, projection width; see
``mmdet_clipjoint.utils.experiments.CLIPJOINT_VARIANTS``).

Examples:
    python tools/benchmark_accuracy.py --preset smoke
    python tools/benchmark_accuracy.py --preset cpu --out docs/results/accuracy_cpu
    python tools/benchmark_accuracy.py --preset cpu --detectors rtmdet \
        --settings clean --methods clipjoint-w0.25 clipjoint-tau0.2 \
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
from mmdet_clipjoint.datasets import SYNTHETIC_CLASSES, make_synthetic_dataset
from mmdet_clipjoint.utils.experiments import (CLIPJOINT_VARIANTS, DETECTORS,
                                               SETTINGS, build_experiment_cfg,
                                               run_experiment)

#: data size, image size, schedule, seeds and settings of each preset.
PRESETS = dict(
    smoke=dict(num_train=64, num_val=16, img_size=128, seeds=[0],
               settings=['clean', 'both'],
               iters=dict(frcnn=10, rtmdet=20),
               batch=dict(frcnn=4, rtmdet=8)),
    # sized for 2 CPU cores (72 runs, two workers of one thread each).
    # Measured with 2 threads at 128 px: ~0.5 s per Faster R-CNN and ~0.3 s
    # per RTMDet-tiny iteration. The schedules sit where the stock
    # detectors have left the flat start of their learning curves (clean
    # mAP 10.4 after 160 Faster R-CNN iterations; RTMDet-tiny 0.8 / 9.7 /
    # 17.9 after 150 / 300 / 600): the first version of this preset
    # (40 / 150 iterations) left every method below 5 mAP, where no
    # comparison means anything (docs/benchmark_accuracy.md).
    cpu=dict(num_train=400, num_val=60, img_size=128, seeds=[0, 1, 2],
             settings=list(SETTINGS),
             iters=dict(frcnn=160, rtmdet=480),
             batch=dict(frcnn=4, rtmdet=8)),
    gpu=dict(num_train=3000, num_val=500, img_size=320, seeds=[0, 1, 2],
             settings=list(SETTINGS),
             iters=dict(frcnn=3000, rtmdet=6000),
             batch=dict(frcnn=8, rtmdet=32)),
)
# Faster R-CNN: mmdet's linear scaling rule (0.02 at batch 16 -> 0.005 at
# batch 4); at 0.02 with batch 4 the ClipJoint run diverged (NaN by iter
# 28) while stock survived. RTMDet (AdamW) keeps its stock 0.004.
LR = dict(frcnn=0.005, rtmdet=0.004)
METHOD_NAMES = dict(stock='stock (CE)', normed='NormedLinear',
                    seesaw='Seesaw', clipjoint='ClipJoint')


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--preset', choices=list(PRESETS), default='smoke')
    p.add_argument('--out', default=None,
                   help='output dir (default outputs/benchmark_<preset>)')
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


def rare_classes(classes):
    """The rarest third under the long-tail profile (the last classes)."""
    n = max(1, len(classes) // 3)
    return list(classes)[-n:]


def summarise(metrics, classes):
    if 'coco/bbox_mAP' not in metrics:
        # CocoMetric returns nothing when no box passed the score threshold
        return dict(mAP=0.0, mAP50=0.0, AP_rare=0.0, empty=True)
    rare = [metrics.get(f'coco/{c}_precision', float('nan'))
            for c in rare_classes(classes)]
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


def write_report(out, runs, preset, args, elapsed, classes):
    """Markdown table + PNG plot from the per-run records."""
    import torch
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
    header = [
        f'Preset `{preset}`, seeds {seeds}, {len(runs)} runs; '
        f'{sum(r["seconds"] for r in runs) / 60:.0f} min of training + '
        'evaluation summed over the runs (this invocation: '
        f'{elapsed / 60:.1f} min wall) on '
        f'{platform.processor() or platform.machine()} '
        f'({os.cpu_count()} cores), torch threads per worker = '
        f'{torch.get_num_threads()}.',
        f'Schedule: {_schedule(runs, args)}.',
        f'Data: synthetic, {args["num_train"]} train / {args["num_val"]} val '
        f'images of {args["img_size"]} px, {len(classes)} classes; rare '
        f'third = {rare_classes(classes)}.',
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
                   (mode_lines if modes else []) + _stress_lines(runs)) + '\n'
    with open(osp.join(out, 'results.md'), 'w') as f:
        f.write(md)
    _plot(out, table, settings)
    return md


def _paired_lines(runs, settings):
    """Each method minus the stock detector, paired by seed.

    The seeds share data, stress and initialisation, so the per-seed
    difference is a sharper comparison than two overlapping mean +- std.
    """
    by_key = {(r['detector'], r['method'], r['setting'], r['seed']):
              r['summary'] for r in runs}
    lines = []
    for det in DETECTORS:
        for method in _methods_of(det, {(d, m): 1 for d, m, _, _ in by_key}):
            if method == 'stock':
                continue
            cells, seen = [], False
            for s in settings:
                diffs = {k: [] for k in ('mAP', 'AP_rare')}
                for (d, m, st, seed), summ in by_key.items():
                    base = by_key.get((det, 'stock', s, seed))
                    if (d, m, st) == (det, method, s) and base:
                        for k in diffs:
                            diffs[k].append(summ[k] - base[k])
                seen |= bool(diffs['mAP'])
                wins = sum(x > 0 for x in diffs['mAP'])
                cells += [
                    _signed(diffs['mAP']) + (
                        f' ({wins}/{len(diffs["mAP"])})'
                        if diffs['mAP'] else ''),
                    _signed(diffs['AP_rare'])
                ]
            if seen:
                lines.append(f'| {DETECTORS[det]["name"]} | '
                             f'{METHOD_NAMES.get(method, method)} | ' +
                             ' | '.join(cells) + ' |')
    if not lines:
        return []
    return [
        '', '### Minus the stock detector, paired by seed (x 100)', '',
        'Mean (± std) over seeds of method − stock with the same seed; '
        '(w/n): seeds where the method has the higher mAP.', '',
        '| detector | method | ' + ' | '.join(
            f'{s} Δ mAP | {s} Δ AP rare' for s in settings) + ' |',
        '|---|---|' + '---|' * (2 * len(settings))
    ] + lines


def _signed(vals):
    if not vals:
        return 'n/a'
    if len(vals) == 1:
        return f'{100 * vals[0]:+.1f}'
    return f'{100 * np.mean(vals):+.1f} ± {100 * np.std(vals):.1f}'


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


def _dataset(data_dir, preset):
    """Generate the benchmark data once; later calls (and other workers)
    reuse it, so no image is rewritten while a run reads it."""
    params = dict(num_train=preset['num_train'], num_val=preset['num_val'],
                  img_size=preset['img_size'], objects_per_image=[1, 3],
                  seed=1234)
    stamp = osp.join(data_dir, 'dataset.json')
    if osp.isfile(stamp):
        with open(stamp) as f:
            saved = json.load(f)
        if saved['params'] == params:
            print(f'[data] reusing the synthetic dataset in {data_dir}')
            return saved['data']
    print(f'[data] synthetic dataset in {data_dir}', flush=True)
    data = make_synthetic_dataset(
        data_dir, params['num_train'], params['num_val'],
        (params['img_size'], params['img_size']),
        objects_per_image=tuple(params['objects_per_image']),
        seed=params['seed'])
    data = json.loads(json.dumps(data))  # as a later call reads it back
    with open(stamp + '.tmp', 'w') as f:
        json.dump(dict(params=params, data=data), f, indent=1)
    os.replace(stamp + '.tmp', stamp)
    return data


def _run_one(args, preset, data, out, det, method, setting, seed, path):
    """Train + evaluate one run; its record is written to ``path``."""
    name = osp.basename(path)[:-len('.json')]
    cfg = build_experiment_cfg(
        det, method, data, osp.join(out, 'work_dirs', name), setting,
        seed, clip_pretrained=args.clip_pretrained,
        img_size=preset['img_size'],
        max_iters=args.iters or preset['iters'][det],
        batch_size=preset['batch'][det], lr=LR[det])
    t = time.time()
    is_cj = method in CLIPJOINT_VARIANTS
    res = run_experiment(cfg, score_modes=('fuse', 'clip') if is_cj else ())
    rec = dict(detector=det, method=method, setting=setting, seed=seed,
               iters=cfg.train_cfg.max_iters, seconds=time.time() - t,
               summary=summarise(res['default'], data['classes']),
               score_modes={
                   k: summarise(v, data['classes'])
                   for k, v in res.items() if k != 'train_stats'
               } if is_cj else {},
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
    preset = dict(PRESETS[args.preset])
    out = args.out or f'outputs/benchmark_{args.preset}'
    os.makedirs(osp.join(out, 'runs'), exist_ok=True)
    seeds = args.seeds or preset['seeds']
    settings = args.settings or preset['settings']
    t0 = time.time()
    data_dir = osp.join(out, 'data')
    data = _dataset(data_dir, preset)
    # seed-major order: an interrupted benchmark (re-runs skip finished
    # runs) still holds complete method comparisons for the first seeds
    for m in args.methods or ():
        if m not in CLIPJOINT_VARIANTS and not any(
                m in DETECTORS[d]['methods'] for d in args.detectors):
            sys.exit(f'unknown method {m!r}; choose from '
                     f'{sorted({x for d in DETECTORS for x in DETECTORS[d]["methods"]})}'
                     f' or {list(CLIPJOINT_VARIANTS)}')
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
        if osp.isfile(path):
            with open(path) as f:
                rec = json.load(f)
            # a record of another schedule (an older preset, --iters) is
            # run again rather than mixed into this table
            if rec.get('iters') == (args.iters or preset['iters'][det]):
                runs.append(rec)
                continue
        if not _claim(path + '.lock'):
            busy.append(name)  # another worker on the same --out runs it
            continue
        try:
            rec = _run_one(args, preset, data, out, det, method, setting,
                           seed, path)
        finally:
            os.remove(path + '.lock')
        runs.append(rec)
    if busy:
        print(f'{len(busy)} runs were taken by other workers on {out} '
              f'({busy[0]}, ...); the table below lacks them. Re-run the same '
              'command once they have finished for the full table.')
    md = write_report(out, runs, args.preset, preset, time.time() - t0,
                      data['classes'])
    print('\n' + md)
    print(f'results: {osp.join(out, "results.md")}, '
          f'{osp.join(out, "results.png")}; per-run JSON in '
          f'{osp.join(out, "runs")}')
    return runs


if __name__ == '__main__':
    main()
