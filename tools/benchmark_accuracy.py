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
``mmdet_clipjoint.benchmark.experiments.CLIPJOINT_VARIANTS``). The logic
lives in :mod:`mmdet_clipjoint.benchmark.accuracy`; this is its command line.

Presets (``mmdet_clipjoint.benchmark.presets.PRESETS``): ``smoke``
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
import sys

import mmdet_clipjoint  # noqa: F401
from mmdet_clipjoint.benchmark import (CLIPJOINT_VARIANTS, DETECTORS, PRESETS,
                                       SETTINGS, check_methods,
                                       run_accuracy_benchmark)
from mmdet_clipjoint.utils.cli import (add_run_options, positive_int,
                                       setup_runs)


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
    p.add_argument('--iters', type=positive_int, default=None,
                   help='override the iterations of every run (>= 1)')
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
    p.add_argument('--keep-checkpoints', action='store_true',
                   help='keep each run\'s checkpoint (default: delete it '
                   'once the run is evaluated; logs are kept)')
    add_run_options(p)
    p.add_argument('--device', default=None,
                   help='unused on CPU; runs use CUDA if available')
    return p.parse_args(argv)



def main(argv=None):
    args = parse_args(argv)
    setup_runs(args.threads)
    try:
        check_methods(args.methods, args.detectors)
    except ValueError as e:
        sys.exit(str(e))
    try:
        return run_accuracy_benchmark(
            args.preset, out=args.out, detectors=args.detectors,
            methods=args.methods, settings=args.settings, seeds=args.seeds,
            iters=args.iters, pretrained=args.pretrained,
            pretrain_cache=args.pretrain_cache,
            report_only=args.report_only, pretrain_only=args.pretrain_only,
            clip_pretrained=args.clip_pretrained,
            keep_checkpoints=args.keep_checkpoints, verbose=args.verbose)
    except (FileNotFoundError, ValueError) as e:
        if not args.report_only:
            raise
        sys.exit(f'error: {e}')


if __name__ == '__main__':
    main()
