# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""How much of the training loss the contrastive terms are, per run.

Reads the ``vis_data/scalars.json`` training logs of benchmark runs (or any
mmdet work_dirs) and prints, for every run whose name matches ``--match``,
the logged losses averaged over the last ``--last`` logging points: the
detector's own losses, the *weighted* ``loss_contrast`` / ``loss_clip_ce``
(as logged), their share of the total loss, and ``acc_clip`` (accuracy of
the contrastive branch on positives; chance = 100 / C).

Example (the table of docs/benchmark_accuracy.md):
    python tools/analysis_tools/clipjoint_loss_share.py \\
        docs/results/accuracy_cpu/work_dirs \\
        docs/results/accuracy_cpu_ablation/work_dirs --match rtmdet_clipjoint
"""
import argparse
import glob
import json
import os.path as osp
from collections import defaultdict

import numpy as np


def read_train_log(path):
    rows = []
    with open(path) as f:
        for line in f:
            rec = json.loads(line)
            if 'loss' in rec and 'iter' in rec:
                rows.append(rec)
    return rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('work_dirs', nargs='+')
    p.add_argument('--match', default='', help='substring of run names')
    p.add_argument('--last', type=int, default=3,
                   help='logging points averaged at the end of training')
    args = p.parse_args(argv)
    keys = ('loss', 'loss_cls', 'loss_bbox', 'loss_contrast', 'loss_clip_ce',
            'acc_clip')
    by_method = defaultdict(list)
    print(f'{"run":44s} ' + ' '.join(f'{k:>13s}' for k in keys) +
          '  contrastive share')
    for wd in args.work_dirs:
        for run in sorted(glob.glob(osp.join(wd, '*'))):
            name = osp.basename(run)
            if args.match not in name:
                continue
            logs = glob.glob(osp.join(run, '*', 'vis_data', 'scalars.json'))
            rows = [r for p_ in sorted(logs) for r in read_train_log(p_)]
            if not rows:
                continue
            its = [r['iter'] for r in rows]
            if any(b <= a for a, b in zip(its, its[1:])):
                # logs of several runs in one file (benchmarks before the
                # per-run visualizer fix): not attributable, skipped
                print(f'{name:44s} skipped: the log holds several runs')
                continue
            tail = rows[-args.last:]
            vals = {k: float(np.mean([r.get(k, np.nan) for r in tail]))
                    for k in keys}
            share = (vals['loss_contrast'] + np.nan_to_num(
                vals['loss_clip_ce'])) / vals['loss']
            method = name.rsplit('_', 2)[0]
            by_method[method].append((vals, share))
            print(f'{name:44s} ' + ' '.join(f'{vals[k]:13.3f}' for k in keys) +
                  f'  {share:6.1%}')
    print('\nmean over runs')
    for method, items in sorted(by_method.items()):
        mean = {k: np.nanmean([v[k] for v, _ in items]) for k in keys}
        print(f'{method:44s} ' + ' '.join(f'{mean[k]:13.3f}' for k in keys) +
              f'  {np.mean([s for _, s in items]):6.1%}  (n={len(items)})')


if __name__ == '__main__':
    main()
