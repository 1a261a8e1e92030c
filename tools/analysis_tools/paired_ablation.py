# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Compare ClipJoint variants of one benchmark directory with the stock and
main ClipJoint runs of another, paired by seed.

``tools/benchmark_accuracy.py`` writes one JSON record per run; a variant
run in its own ``--out`` (an ablation) shares data, stress and seeds with
the main table's runs, so each of its runs has a stock and a ClipJoint twin
there. This prints a markdown table: mAP of the three, the variant minus
each twin paired by seed (mean, 95 % t-interval, on how many seeds the
variant is ahead, and the verdict: win / loss only when the interval
excludes 0; ``mmdet_clipjoint.utils.stats.paired_diff``) and the variant's
``fuse`` score mode.

Example (the ablation table of docs/benchmark_accuracy.md):
    python tools/analysis_tools/paired_ablation.py \\
        docs/results/accuracy_cpu docs/results/accuracy_cpu_ablation
"""
import argparse
import glob
import json
import os.path as osp

import numpy as np

from mmdet_clipjoint.utils.stats import format_paired, paired_diff

NAMES = dict(frcnn='Faster R-CNN', rtmdet='RTMDet-tiny')
KEY = ('detector', 'method', 'setting', 'seed')


def load_runs(out_dir):
    runs = []
    for path in sorted(glob.glob(osp.join(out_dir, 'runs', '*.json'))):
        with open(path) as f:
            runs.append(json.load(f))
    return runs


def _mean_std(vals):
    if len(vals) == 1:
        return f'{100 * vals[0]:.1f}'
    return f'{100 * np.mean(vals):.1f} ± {100 * np.std(vals):.1f}'


def _diff(a, b, seeds):
    """``a - b`` paired by seed, as one table cell."""
    return format_paired(
        paired_diff(dict(zip(seeds, a)), dict(zip(seeds, b))))


def paired_table(main_runs, variant_runs):
    """Markdown lines; variant runs without both twins are left out."""
    main = {tuple(r[k] for k in KEY): r for r in main_runs}
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
        lines.append(
            f'| {NAMES.get(det, det)} | {method} | {setting} | '
            f'{",".join(map(str, seeds))} | {_mean_std(stock)} | '
            f'{_mean_std(cj)} | {_mean_std(var)} | '
            f'{_diff(var, stock, seeds)} | {_diff(var, cj, seeds)} | '
            f'{_mean_std(fuse)} |')
    return lines


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('main_out', help='--out of the main benchmark table')
    p.add_argument('variant_out', help='--out of the variant runs')
    args = p.parse_args(argv)
    lines = paired_table(load_runs(args.main_out),
                         load_runs(args.variant_out))
    print('mAP x 100\n\n' + '\n'.join(lines))
    return lines


if __name__ == '__main__':
    main()
