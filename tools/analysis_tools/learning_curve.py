# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Learning curve of one benchmark run: validation mAP along training.

Trains one (detector, method, setting, seed) of ``tools/benchmark_accuracy.py``
on the preset's synthetic data -- with the preset's initialisation: the
cached synthetic pre-training for ``cpu-pt`` / ``cpu-pt-b`` (trained first
when missing), random weights for ``cpu`` or under ``--no-pretrained`` --
validating every ``--val-interval`` iterations, and prints bbox mAP against
the iteration. This is how the benchmark schedules are chosen: long enough
that the stock detector has reached its plateau.

Examples:
    # the pre-trained regime (default: 2x the preset's schedule, 6 points)
    python tools/analysis_tools/learning_curve.py frcnn stock --preset cpu-pt
    python tools/analysis_tools/learning_curve.py rtmdet stock \\
        --preset cpu-pt --iters 1800 --val-interval 300
    # the calibration table of docs/benchmark_accuracy.md (from scratch)
    python tools/analysis_tools/learning_curve.py rtmdet stock --preset cpu \\
        --iters 600 --val-interval 150
"""
import argparse
import os

import mmdet_clipjoint  # noqa: F401
from mmdet_clipjoint.benchmark import (CLIPJOINT_VARIANTS, DETECTORS, PRESETS,
                                       SETTINGS)
from mmdet_clipjoint.benchmark.learning_curve import learning_curve
from mmdet_clipjoint.utils.cli import positive_int


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('detector', choices=list(DETECTORS))
    p.add_argument('method', help='stock, normed, seesaw, clipjoint or a '
                   'ClipJoint variant: ' + ', '.join(CLIPJOINT_VARIANTS))
    p.add_argument('--setting', default='clean', choices=list(SETTINGS))
    p.add_argument('--preset', default='cpu', choices=list(PRESETS),
                   help='data, batch size, stress and initialisation of '
                   'this benchmark preset')
    p.add_argument('--iters', type=positive_int, default=None,
                   help='default: twice the preset\'s schedule')
    p.add_argument('--val-interval', type=positive_int, default=None,
                   help='default: --iters / 6')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--pretrained', action=argparse.BooleanOptionalAction,
                   default=None,
                   help='start from the synthetic pre-training (default: '
                   'as the preset says)')
    p.add_argument('--pretrain-cache', default=None,
                   help='cache of the pre-trained weights (default: '
                   '~/.cache/mmdet_clipjoint/pretrain)')
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--out', default='outputs/learning_curve')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    import torch
    torch.set_num_threads(args.threads)
    res = learning_curve(args.detector, args.method, args.preset,
                         setting=args.setting, iters=args.iters,
                         val_interval=args.val_interval, seed=args.seed,
                         pretrained=args.pretrained,
                         pretrain_cache=args.pretrain_cache, out=args.out)
    print(f'\n{res["name"]} ({res["init"]}): {res["seconds"]:.0f} s with '
          f'{args.threads} threads (training + {len(res["curve"])} '
          'validations)')
    print('| iteration | bbox mAP x 100 | mAP50 x 100 |\n|---|---|---|')
    for step, m, m50 in res['curve']:
        print(f'| {step} | {100 * m:.1f} | {100 * m50:.1f} |')
    print(f'curve: {res["path"]}')
    return res['curve']


if __name__ == '__main__':
    os.environ.setdefault('PYTHONUNBUFFERED', '1')
    main()
