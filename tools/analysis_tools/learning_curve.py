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
import glob
import json
import os
import os.path as osp
import time

import mmdet_clipjoint  # noqa: F401
from mmdet_clipjoint.utils.benchmark_presets import (PRESETS, get_preset,
                                                     prepare_benchmark_data,
                                                     preset_pretrained,
                                                     preset_run_data,
                                                     preset_run_kwargs)
from mmdet_clipjoint.utils.experiments import (CLIPJOINT_VARIANTS, DETECTORS,
                                               SETTINGS, build_experiment_cfg)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('detector', choices=list(DETECTORS))
    p.add_argument('method', help='stock, normed, seesaw, clipjoint or a '
                   'ClipJoint variant: ' + ', '.join(CLIPJOINT_VARIANTS))
    p.add_argument('--setting', default='clean', choices=list(SETTINGS))
    p.add_argument('--preset', default='cpu', choices=list(PRESETS),
                   help='data, batch size, stress and initialisation of '
                   'this benchmark preset')
    p.add_argument('--iters', type=int, default=None,
                   help='default: twice the preset\'s schedule')
    p.add_argument('--val-interval', type=int, default=None,
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
    from mmengine.runner import Runner
    torch.set_num_threads(args.threads)
    preset = get_preset(args.preset)
    use_pt = preset['pretrained'] if args.pretrained is None \
        else args.pretrained
    iters = args.iters or 2 * preset['iters'][args.detector]
    interval = args.val_interval or max(1, iters // 6)
    data = prepare_benchmark_data(
        osp.join(args.out, f'data_{args.preset}'), preset)
    weights = preset_pretrained(preset, args.detector,
                                args.pretrain_cache) if use_pt else None
    name = (f'{args.preset}_{args.detector}_{args.method}_{args.setting}_'
            f's{args.seed}_{iters}it' +
            ('_scratch' if preset['pretrained'] and not use_pt else ''))
    cfg = build_experiment_cfg(
        args.detector, args.method,
        preset_run_data(preset, data, args.setting),
        osp.join(args.out, 'work_dirs', name), args.setting, args.seed,
        val_interval=interval,
        **preset_run_kwargs(preset, args.detector, iters, weights))
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
                step = min((len(curve) + 1) * interval, iters)
                curve.append((step, rec['coco/bbox_mAP'],
                              rec['coco/bbox_mAP_50']))
    init = f'from {osp.basename(weights)}' if weights else 'from scratch'
    print(f'\n{name} ({init}): {seconds:.0f} s with {args.threads} threads '
          f'(training + {len(curve)} validations)')
    print('| iteration | bbox mAP x 100 | mAP50 x 100 |\n|---|---|---|')
    for step, m, m50 in curve:
        print(f'| {step} | {100 * m:.1f} | {100 * m50:.1f} |')
    with open(osp.join(args.out, name + '.json'), 'w') as f:
        json.dump(dict(name=name, preset=args.preset, init=init,
                       seconds=seconds, curve=curve), f, indent=1)
    return curve


if __name__ == '__main__':
    os.environ.setdefault('PYTHONUNBUFFERED', '1')
    main()
