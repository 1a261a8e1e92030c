# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Learning curve of one benchmark run: validation mAP along training.

Trains one (detector, method, setting, seed) of ``tools/benchmark_accuracy.py``
on the preset's synthetic data, validating every ``--val-interval``
iterations, and prints bbox mAP against the iteration. This is how the
``cpu`` preset's schedules were chosen (docs/benchmark_accuracy.md): long
enough that the stock detectors have left the flat start of the curve.

Example (the calibration table of docs/benchmark_accuracy.md, 2 threads):
    python tools/analysis_tools/learning_curve.py rtmdet stock \\
        --iters 600 --val-interval 150
    python tools/analysis_tools/learning_curve.py frcnn stock \\
        --iters 160 --val-interval 40
"""
import argparse
import glob
import json
import os
import os.path as osp
import sys
import time

import mmdet_clipjoint  # noqa: F401
from mmdet_clipjoint.utils.experiments import (CLIPJOINT_VARIANTS, DETECTORS,
                                               REPO_ROOT, SETTINGS,
                                               build_experiment_cfg)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('detector', choices=list(DETECTORS))
    p.add_argument('method', help='stock, normed, seesaw, clipjoint or a '
                   'ClipJoint variant: ' + ', '.join(CLIPJOINT_VARIANTS))
    p.add_argument('--setting', default='clean', choices=list(SETTINGS))
    p.add_argument('--preset', default='cpu',
                   help='data and batch size of this benchmark preset')
    p.add_argument('--iters', type=int, required=True)
    p.add_argument('--val-interval', type=int, required=True)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--out', default='outputs/learning_curve')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    import torch
    from mmengine.runner import Runner
    torch.set_num_threads(args.threads)
    sys.path.insert(0, osp.join(REPO_ROOT, 'tools'))
    from benchmark_accuracy import LR, PRESETS, _dataset
    preset = PRESETS[args.preset]
    data = _dataset(osp.join(args.out, 'data'), preset)
    name = (f'{args.detector}_{args.method}_{args.setting}_s{args.seed}_'
            f'{args.iters}it')
    cfg = build_experiment_cfg(
        args.detector, args.method, data,
        osp.join(args.out, 'work_dirs', name), args.setting, args.seed,
        img_size=preset['img_size'], max_iters=args.iters,
        batch_size=preset['batch'][args.detector], lr=LR[args.detector],
        val_interval=args.val_interval)
    t = time.time()
    Runner.from_cfg(cfg).train()
    seconds = time.time() - t
    logs = sorted(glob.glob(osp.join(cfg.work_dir, '*', 'vis_data',
                                     'scalars.json')))
    curve = []
    with open(logs[-1]) as f:
        for line in f:
            rec = json.loads(line)
            if 'coco/bbox_mAP' in rec:
                # validation records carry no iteration (their step is the
                # epoch, 0 here): they come every val_interval iterations
                step = min((len(curve) + 1) * args.val_interval, args.iters)
                curve.append((step, rec['coco/bbox_mAP'],
                              rec['coco/bbox_mAP_50']))
    print(f'\n{name}: {seconds:.0f} s with {args.threads} threads '
          f'(training + {len(curve)} validations)')
    print('| iteration | bbox mAP x 100 | mAP50 x 100 |\n|---|---|---|')
    for step, m, m50 in curve:
        print(f'| {step} | {100 * m:.1f} | {100 * m50:.1f} |')
    with open(osp.join(args.out, name + '.json'), 'w') as f:
        json.dump(dict(name=name, seconds=seconds, curve=curve), f, indent=1)
    return curve


if __name__ == '__main__':
    os.environ.setdefault('PYTHONUNBUFFERED', '1')
    main()
