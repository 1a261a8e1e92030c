# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Zero-shot detection with CLIP text in the semantic world (ViLD-text).

A quarter of the preset's classes lose their training boxes; the detector
trains on the others, then every ClipJoint head gets the CLIP rows of all
classes (``set_vocabulary``) and the full val split is evaluated. Arms: the
learnable CLIP bank (``clip``), ``frozen``, ``drift``, ``centred`` (the
bank option ``centre='coco'``: rows centred on the mean COCO row, in
training and at test) and the ``permuted`` control (one derangement of the
CLIP rows, in training and at test).
Prints (and writes ``<out>/zeroshot.md``) AP of the novel and base
classes, each arm minus the control paired by seed, and -- with
``--supervised DIR``, an accuracy-benchmark output of the same preset --
the novel classes' AP of detectors trained with their boxes. Resumable
and shareable: finished runs are kept as ``<out>/zeroshot_runs/*.json``, a
lock file per run (start a second worker on the same ``--out`` with
``--threads 1`` each). Library:
:mod:`mmdet_clipjoint.benchmark.zero_shot`.

Examples::

    python tools/benchmark_zero_shot.py --preset semantic-smoke --out /tmp/zs
    python tools/benchmark_zero_shot.py --preset semantic-cpu --threads 1 \\
        --out docs/results/semantic_cpu --supervised docs/results/semantic_cpu
    # the finished runs of --out tabled again, nothing trained
    python tools/benchmark_zero_shot.py --preset semantic-cpu \\
        --out docs/results/semantic_cpu --supervised docs/results/semantic_cpu \\
        --report-only
"""
import argparse
import os.path as osp

from mmdet_clipjoint.utils.cli import (add_run_options, doc_parser,
                                       print_report, run_main, setup_runs)

__all__ = ['main']


def parse_args(argv=None) -> argparse.Namespace:
    from mmdet_clipjoint.benchmark.presets import PRESETS
    from mmdet_clipjoint.benchmark.zero_shot import ZERO_SHOT_ARMS
    p = doc_parser(__doc__)
    p.add_argument('--preset', default='semantic-smoke',
                   choices=[k for k in PRESETS if k.startswith('semantic')])
    p.add_argument('--out', default=None,
                   help='output folder (default outputs/zeroshot_<preset>)')
    p.add_argument('--detector', default='rtmdet',
                   choices=['rtmdet', 'frcnn', 'yolo11'])
    p.add_argument('--arms', nargs='+', choices=list(ZERO_SHOT_ARMS),
                   default=list(ZERO_SHOT_ARMS))
    p.add_argument('--seeds', nargs='+', type=int, default=None)
    p.add_argument('--supervised', default=None,
                   help='an accuracy-benchmark --out of the same preset: '
                   'its clean ClipJoint runs give the supervised reference')
    p.add_argument('--pretrain-cache', default=None)
    p.add_argument('--report-only', action='store_true',
                   help='report the finished runs of --out, train nothing')
    add_run_options(p)
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    setup_runs(args.threads)
    from mmdet_clipjoint.benchmark.accuracy_report import load_runs
    from mmdet_clipjoint.benchmark.zero_shot import (run_zero_shot,
                                                     zero_shot_report)
    out = args.out or f'outputs/zeroshot_{args.preset}'
    records = run_zero_shot(args.preset, out, args.detector, args.arms,
                            args.seeds, pretrain_cache=args.pretrain_cache,
                            quiet=not args.verbose,
                            report_only=args.report_only)
    if args.report_only and not records:
        raise ValueError(
            f'no finished zero-shot runs of {args.detector} in '
            f'{out}/zeroshot_runs for these arms and seeds: run without '
            '--report-only, or point --out at the runs.')
    supervised = [r for r in load_runs(args.supervised)
                  if r['detector'] == args.detector] if args.supervised \
        else []
    md = zero_shot_report(records, supervised)
    print_report(md, osp.join(out, 'zeroshot.md'))
    return records


if __name__ == '__main__':
    run_main(main, 'benchmark_zero_shot')
