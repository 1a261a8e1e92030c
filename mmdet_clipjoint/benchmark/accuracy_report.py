# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""The accuracy benchmark's report: per-run summaries, the markdown tables
(mean +- std over seeds, differences paired by seed with a 95 % t-interval
and a verdict), the score-mode, learning-curve and realised-stress tables,
the PNG plot, and the paired table of an ablation directory against a main
one.

A run record (one JSON per run, written by
:func:`mmdet_clipjoint.benchmark.accuracy.run_one`) holds ``detector``,
``method``, ``setting``, ``seed``, ``iters``, ``init``, ``seconds``,
``summary`` (:func:`summarise`), ``score_modes``, ``curve``, ``metrics`` and
``train_stats``.
"""
import glob
import json
import os
import os.path as osp
import platform
from collections import defaultdict
from typing import List, Sequence

import numpy as np

from .experiments import CLIPJOINT_VARIANTS, DETECTORS, SETTINGS
from .presets import (LR, count_instances, preset_class_order,
                      rare_classes)
from .stats import format_paired, paired_diff

__all__ = [
    'METHOD_NAMES', 'summarise', 'fmt', 'write_report', 'instances_line',
    'paired_lines', 'methods_of', 'load_runs', 'ablation_table',
    'BANK_ARMS', 'REMEDY_CONTROLS', 'per_class_table'
]

#: how the report names the methods
METHOD_NAMES = dict(stock='stock (CE)', normed='NormedLinear',
                    seesaw='Seesaw', clipjoint='ClipJoint')
#: the text-bank arms of the semantic presets (the prior's controls: random
#: and permuted rows; a frozen CLIP bank; centred CLIP rows and their
#: permuted control; the bank at the full learning rate, rows free to
#: separate): ClipJoint with its learnable CLIP rows is compared with each,
#: paired by seed
BANK_ARMS = ('clipjoint-random-text', 'clipjoint-permuted',
             'clipjoint-frozen-text', 'clipjoint-centred',
             'clipjoint-centred-permuted', 'clipjoint-bank-lr1')
#: remedy arm -> its controls: the same geometry without the meaning (the
#: remedy's rows deranged among the classes) and no CLIP at all (a random
#: bank); the remedy minus each, paired by seed, tells whether CLIP's
#: meaning helps once the geometry is fixed. The balanced remedy (a loss,
#: not a bank) is also paired with the recipe it changes (``clipjoint``)
REMEDY_CONTROLS = {
    'clipjoint-centred': ('clipjoint-centred-permuted',
                          'clipjoint-random-text'),
    'clipjoint-balanced': ('clipjoint-balanced-permuted',
                           'clipjoint-balanced-random-text', 'clipjoint'),
    # both remedies: against its deranged rows, the balanced random bank,
    # and each remedy alone
    'clipjoint-centred-balanced': ('clipjoint-centred-balanced-permuted',
                                   'clipjoint-balanced-random-text',
                                   'clipjoint-balanced', 'clipjoint-centred'),
    # the other long-tail remedies change the recipe, not the rows: each is
    # paired with the recipe itself
    'clipjoint-margin': ('clipjoint', ),
    'clipjoint-freq-temp': ('clipjoint', ),
    'clipjoint-freq-fuse': ('clipjoint', ),
}
#: the fields that identify a run
RUN_KEY = ('detector', 'method', 'setting', 'seed')


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
        preset: The preset (:func:`~.presets.get_preset`).
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
                   r['setting'])][mode].append(summ)
    lines = [
        '| detector | method | ' + ' | '.join(
            f'{s} mAP | {s} mAP50 | {s} AP rare' for s in settings) + ' |',
        '|---|---|' + '---|' * (3 * len(settings))
    ]
    for det in DETECTORS:
        for method in methods_of(det, table):
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
        f'Data: {_world(preset)} (generator seed '
        f'{preset["data_seed"]}), {preset["num_train"]} train / '
        f'{preset["num_val"]} val images of {preset["img_size"]} px, '
        f'{len(classes)} classes; label noise {noise}; long tail: {tail}; '
        f'rare third = {rare}.',
        f'Training instances per setting: {instances_line(runs, data)}.',
        'Values: COCO bbox AP x 100, mean ± std over seeds.', ''
    ]
    mode_lines = _mode_lines(runs, modes)
    md = '\n'.join(header + lines + paired_lines(runs, settings) +
                   mode_lines + _curve_lines(runs) +
                   _stress_lines(runs)) + '\n'
    with open(osp.join(out, 'results.md'), 'w') as f:
        f.write(md)
    _plot(out, table, settings)
    return md


#: the score modes of a ClipJoint run, in report order (``default`` is the
#: config's, ``det`` for the shipped configs)
SCORE_MODES = ('default', 'fuse', 'clip')


def _rare_map_cells(got, ref):
    """Two paired cells, Δ AP rare and Δ mAP, of ``{seed: summary}``
    mappings ``got`` minus ``ref``."""
    return [format_paired(paired_diff(
        {s: v[key] for s, v in got.items()},
        {s: v[key] for s, v in ref.items()})) for key in ('AP_rare', 'mAP')]


def _mode_lines(runs, modes):
    """The ClipJoint score-mode tables: mAP and rare AP of each mode (same
    checkpoints), then each mode minus the stock detector, paired by seed.

    Args:
        runs: Per-run records.
        modes: ``{(detector, method, setting): {mode: [summary, ...]}}``.

    Returns:
        list[str]: Markdown lines (empty without score-mode records).
    """
    if not modes:
        return []
    lines = ['', '### ClipJoint score modes (x 100, same checkpoints)', '',
             'Per cell: mAP / AP of the rare classes, mean over seeds.', '',
             '| detector | method | setting | det (config default) | fuse |'
             ' clip |', '|---|---|---|---|---|---|']
    for (det, method, setting), by_mode in sorted(modes.items()):
        cells = []
        for m in SCORE_MODES:
            summ = by_mode.get(m, [])
            cells.append(
                'n/a' if not summ else
                f'{100 * np.mean([x["mAP"] for x in summ]):.1f} / '
                f'{100 * np.mean([x["AP_rare"] for x in summ]):.1f}')
        lines.append(f'| {DETECTORS[det]["name"]} | {method} | {setting} | '
                     + ' | '.join(cells) + ' |')
    stock = {(r['detector'], r['setting'], r['seed']): r['summary']
             for r in runs if r['method'] == 'stock'}
    by_seed = defaultdict(dict)  # (det, method, setting, mode) -> {seed: s}
    for r in runs:
        for mode, summ in r.get('score_modes', {}).items():
            if (r['detector'], r['setting'], r['seed']) in stock:
                by_seed[(r['detector'], r['method'], r['setting'],
                         mode)][r['seed']] = summ
    if not by_seed:
        return lines
    lines += [
        '', '### ClipJoint score modes minus the stock detector, paired by '
        'seed (x 100)', '',
        'Per cell: Δ AP rare (Δ mAP in the next column), mean over seeds of '
        'the difference with the same seed, [95 % t-interval], seeds ahead '
        '/ paired seeds, verdict.', '',
        '| detector | method | setting | mode | Δ AP rare | Δ mAP |',
        '|---|---|---|---|---|---|']
    for (det, method, setting, mode), got in sorted(
            by_seed.items(),
            key=lambda kv: kv[0][:3] + (SCORE_MODES.index(kv[0][3])
                                        if kv[0][3] in SCORE_MODES else 9,)):
        cells = _rare_map_cells(
            got, {s: stock[(det, setting, s)] for s in got})
        lines.append(f'| {DETECTORS[det]["name"]} | {method} | {setting} | '
                     f'{"det (default)" if mode == "default" else mode} | ' +
                     ' | '.join(cells) + ' |')
    # ... and minus the long-tail peers in the branch's own modes (det
    # mode: the table "ClipJoint minus the long-tail peers")
    peers = {(r['detector'], r['method'], r['setting'], r['seed']):
             r['summary'] for r in runs if r['method'] in ('normed', 'seesaw')}
    rows = []
    for (det, method, setting, mode), got in by_seed.items():
        if mode not in ('fuse', 'clip'):
            continue
        for peer in ('normed', 'seesaw'):
            ref = {s: peers[(det, peer, setting, s)] for s in got
                   if (det, peer, setting, s) in peers}
            if not ref:
                continue
            cells = _rare_map_cells(got, ref)
            rows.append(((det, method, peer, setting,
                          SCORE_MODES.index(mode)),
                         f'| {DETECTORS[det]["name"]} | {method} − '
                         f'{METHOD_NAMES[peer]} | {setting} | {mode} | ' +
                         ' | '.join(cells) + ' |'))
    if rows:
        lines += [
            '', '### ClipJoint score modes minus the long-tail peers, paired '
            'by seed (x 100)', '',
            '| detector | ClipJoint arm − peer | setting | mode | Δ AP rare '
            '| Δ mAP |', '|---|---|---|---|---|---|']
        lines += [r[-1] for r in sorted(rows)]
    # a remedy that acts through the branch's scores (logit adjustment) is
    # told from its controls in every mode too
    rows = []
    for (det, method, setting, mode), got in sorted(by_seed.items()):
        for control in REMEDY_CONTROLS.get(method, ()):
            ref = by_seed.get((det, control, setting, mode))
            if not ref:
                continue
            cells = _rare_map_cells(got, ref)
            rows.append((det, method, control, setting,
                         SCORE_MODES.index(mode) if mode in SCORE_MODES else 9,
                         f'| {DETECTORS[det]["name"]} | {method} − {control} '
                         f'| {setting} | '
                         f'{"det (default)" if mode == "default" else mode} | '
                         + ' | '.join(cells) + ' |'))
    if rows:
        lines += [
            '', '### The remedies minus their controls, each score mode, '
            'paired by seed (x 100)', '',
            '| detector | remedy − control | setting | mode | Δ AP rare | '
            'Δ mAP |', '|---|---|---|---|---|---|']
        lines += [r[-1] for r in sorted(rows, key=lambda r: r[:5])]
    return lines


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


def instances_line(runs, data):
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


def paired_lines(runs, settings):
    """Each method minus the stock detector, then ClipJoint minus each
    long-tail peer (NormedLinear, Seesaw), paired by seed."""
    lines = _minus_lines(runs, settings, 'stock') + _minus_lines(
        runs, settings, ('normed', 'seesaw')) + _minus_lines(
            runs, settings, BANK_ARMS, only='clipjoint')
    for remedy, controls in REMEDY_CONTROLS.items():
        lines += _minus_lines(
            runs, settings, controls, only=remedy,
            title=f'The remedy {remedy} minus its controls')
    return lines


def _minus_lines(runs, settings, reference, only=None, title=None):
    """Methods minus ``reference`` (a method, or a tuple of peers that the
    ClipJoint runs are compared with), paired by seed.

    The seeds share data, stress and initialisation, so the per-seed
    difference is a sharper comparison than two overlapping mean +- std
    (:func:`mmdet_clipjoint.benchmark.stats.paired_diff`). ``only``: the
    one method compared with a tuple of references (default: every
    ClipJoint variant). ``title``: the section's heading (default: from
    ``reference``).
    """
    by_key = {(r['detector'], r['method'], r['setting'], r['seed']):
              r['summary'] for r in runs}
    lines = []
    pairs = []
    for det in DETECTORS:
        methods = methods_of(det, {(d, m): 1 for d, m, _, _ in by_key})
        if reference == 'stock':
            pairs += [(det, m, 'stock') for m in methods if m != 'stock']
        else:
            pairs += [(det, m, ref) for ref in reference for m in methods
                      if m in CLIPJOINT_VARIANTS and m not in reference and
                      (only is None or m == only)]
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
    title = title or (
        'Minus the stock detector' if reference == 'stock' else
        'ClipJoint (learnable CLIP rows) minus the other text banks'
        if reference == BANK_ARMS else 'ClipJoint minus the long-tail peers')
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


def _world(preset):
    """What the preset's data is, for the report's header."""
    if preset['dataset'] != 'semantic':
        return f'synthetic benchmark {preset["dataset"]}'
    init = preset.get('text_init') or {}
    return ('semantic world (COCO names drawn as Noto Color Emoji; '
            'ClipJoint text bank from the shipped CLIP '
            f'{init.get("vocabulary", "?")} rows)')


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


def methods_of(det, table):
    """The detector's methods, then the ClipJoint variants that ran."""
    extra = [m for m in CLIPJOINT_VARIANTS
             if (det, m) in table and m not in DETECTORS[det]['methods']]
    return list(DETECTORS[det]['methods']) + extra


def _plot(out, table, settings):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    dets = [d for d in DETECTORS if any(k[0] == d for k in table)]
    arms = {
        det: [m for m in methods_of(det, table) if (det, m) in table]
        for det in dets
    }
    # the legend goes under each panel (three arms a row), so that it
    # covers no bar however many arms ran; 20 distinct colours
    rows = max([-(-len(m) // 3) for m in arms.values()] or [1])
    fig, axes = plt.subplots(1, len(dets),
                             figsize=(6 * len(dets), 4 + 0.22 * rows),
                             squeeze=False)
    colours = plt.get_cmap('tab20').colors
    for ax, det in zip(axes[0], dets):
        methods = arms[det]
        width = 0.8 / max(len(methods), 1)
        for k, m in enumerate(methods):
            mean = [100 * np.mean([x['mAP'] for x in table[(det, m)][s]])
                    if table[(det, m)][s] else 0 for s in settings]
            std = [100 * np.std([x['mAP'] for x in table[(det, m)][s]])
                   if table[(det, m)][s] else 0 for s in settings]
            ax.bar(np.arange(len(settings)) + k * width, mean, width,
                   yerr=std, label=METHOD_NAMES.get(m, m), capsize=2,
                   color=colours[k % len(colours)])
        ax.set_xticks(np.arange(len(settings)) + 0.4 - width / 2)
        ax.set_xticklabels(settings)
        ax.set_ylabel('bbox mAP x 100')
        ax.set_title(DETECTORS[det]['name'])
        ax.legend(fontsize=7, ncol=3, loc='upper center',
                  bbox_to_anchor=(0.5, -0.1), frameon=False)
    fig.tight_layout()
    fig.savefig(osp.join(out, 'results.png'), dpi=100, bbox_inches='tight')
    plt.close(fig)


def load_runs(out_dir: str) -> List[dict]:
    """Every run record in ``out_dir/runs`` (sorted by file name)."""
    runs = []
    for path in sorted(glob.glob(osp.join(out_dir, 'runs', '*.json'))):
        with open(path) as f:
            runs.append(json.load(f))
    return runs


def per_class_table(runs: Sequence[dict], classes: Sequence[str],
                    methods: Sequence[str], setting: str, detector: str,
                    rare: Sequence[str] = (),
                    reference: str = 'stock') -> List[str]:
    """Per-class AP x 100 of each method, mean over the seeds every method
    has, and the first non-reference method minus ``reference`` with the
    seeds where it is ahead (markdown lines; rare classes in bold).

    Args:
        runs: Run records (:func:`load_runs`).
        classes: Class names in the dataset's order.
        methods: Methods (columns), ``reference`` among them.
        setting, detector: Which runs.
        rare: Class names to print in bold.
        reference: The method the difference is taken against.

    Returns:
        list[str]: The table's lines.
    """
    recs = {(r['method'], r['seed']): r for r in runs
            if r['setting'] == setting and r['detector'] == detector}
    seeds = sorted(set.intersection(*[
        {s for (m, s) in recs if m == method} for method in methods]))
    if not seeds:
        raise ValueError(f'no seed has a {detector} {setting} run of every '
                         f'method {list(methods)}')
    other = next(m for m in methods if m != reference)
    head = ' | '.join(METHOD_NAMES.get(m, m) for m in methods)
    lines = [f'| class | {head} | {other} - {reference} (seeds ahead) |',
             '|---' * (len(methods) + 2) + '|']
    for c in classes:
        ap = {m: [100 * recs[m, s]['metrics'][f'coco/{c}_precision']
                  for s in seeds] for m in methods}
        mean = {m: sum(v) / len(v) for m, v in ap.items()}
        ahead = sum(a > b for a, b in zip(ap[other], ap[reference]))
        name = f'**{c}**' if c in rare else c
        cells = ' | '.join(f'{mean[m]:.1f}' for m in methods)
        lines.append(f'| {name} | {cells} | '
                     f'{mean[other] - mean[reference]:+.1f} '
                     f'({ahead}/{len(seeds)}) |')
    return lines


def ablation_table(main_runs: Sequence[dict],
                   variant_runs: Sequence[dict]) -> List[str]:
    """ClipJoint variants against the stock and main ClipJoint runs of
    another directory, paired by seed (markdown lines).

    A variant run in its own ``--out`` shares data, stress and seeds with
    the main table's runs, so each of its runs has a stock and a ClipJoint
    twin there; variant runs without both twins are left out. Columns: mAP
    of the three, the variant minus each twin paired by seed
    (:func:`~mmdet_clipjoint.benchmark.stats.paired_diff`) and the variant's
    ``fuse`` score mode.
    """
    main = {tuple(r[k] for k in RUN_KEY): r for r in main_runs}
    groups = {}
    for r in variant_runs:
        if (r['detector'], 'stock', r['setting'], r['seed']) in main and \
                (r['detector'], 'clipjoint', r['setting'],
                 r['seed']) in main:
            groups.setdefault((r['detector'], r['method'], r['setting']),
                              []).append(r)
    lines = [
        '| detector | variant | setting | seeds | stock | ClipJoint (main '
        'config) | variant | variant − stock | variant − ClipJoint | '
        'variant `fuse` |', '|---|---|---|---|---|---|---|---|---|---|'
    ]

    def diff(a, b, seeds):
        return format_paired(
            paired_diff(dict(zip(seeds, a)), dict(zip(seeds, b))))

    for (det, method, setting), rs in sorted(groups.items()):
        rs = sorted(rs, key=lambda r: r['seed'])
        seeds = [r['seed'] for r in rs]
        var = [r['summary']['mAP'] for r in rs]
        stock = [main[(det, 'stock', setting, s)]['summary']['mAP']
                 for s in seeds]
        cj = [main[(det, 'clipjoint', setting, s)]['summary']['mAP']
              for s in seeds]
        fuse = [r['score_modes'].get('fuse', r['summary'])['mAP']
                for r in rs]
        name = DETECTORS[det]['name'] if det in DETECTORS else det
        lines.append(
            f'| {name} | {method} | {setting} | '
            f'{",".join(map(str, seeds))} | {fmt(stock)} | '
            f'{fmt(cj)} | {fmt(var)} | '
            f'{diff(var, stock, seeds)} | {diff(var, cj, seeds)} | '
            f'{fmt(fuse)} |')
    return lines
