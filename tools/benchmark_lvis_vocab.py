# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""LVIS-scale open vocabulary in the semantic world (issue 26 item 3).

ClipJoint RTMDet-tiny trains on the semantic world's base classes (novel
classes drawn without boxes, named by the captions / grounding lines of
the arms that have them), then is asked for the 1,203 LVIS names
(``set_vocabulary(model, 'lvis')``) on a val split of base, novel and
other LVIS classes (never drawn in training). Arms: ``det``, ``captions``,
``grounding``, ``both``, the concept words frozen (``det-frozen``,
``both-frozen``) and the permuted-row control (``det-permuted``,
``both-permuted``). Prints (and writes ``<out>/lvis_vocab.md``) AP of the
novel / other / base classes, the rate at which base objects are renamed,
and paired differences by seed. Resumable and shareable: one JSON record
per run in ``<out>/runs``, a lock file per run (start a second worker on
the same ``--out`` with ``--threads 1`` each). Library:
:mod:`mmdet_clipjoint.benchmark.lvis_vocab`.

Examples::

    python tools/benchmark_lvis_vocab.py --preset smoke --out /tmp/lvis
    python tools/benchmark_lvis_vocab.py --preset cpu --threads 1 \\
        --out docs/results/lvis_vocab_cpu
    # the kept checkpoints scored again, detector confidence ** 0.5 and ** 0
    python tools/benchmark_lvis_vocab.py --preset cpu --threads 1 \\
        --out docs/results/lvis_vocab_cpu --arms both \\
        --rescore-objectness 0.5 0
"""
import argparse
import os.path as osp

from mmdet_clipjoint.utils.cli import (add_run_options, doc_parser,
                                       print_report, run_main, setup_runs)

__all__ = ['main']


def parse_args(argv=None) -> argparse.Namespace:
    from mmdet_clipjoint.benchmark.lvis_vocab import (LVIS_VOCAB_ARMS,
                                                      LVIS_VOCAB_PRESETS)
    p = doc_parser(__doc__)
    p.add_argument('--preset', default='smoke',
                   choices=list(LVIS_VOCAB_PRESETS))
    p.add_argument('--out', default=None,
                   help='output folder (default outputs/lvis_vocab_<preset>)')
    p.add_argument('--arms', nargs='+', choices=list(LVIS_VOCAB_ARMS),
                   default=list(LVIS_VOCAB_ARMS))
    p.add_argument('--seeds', nargs='+', type=int, default=None)
    p.add_argument('--pretrain-cache', default=None)
    p.add_argument('--keep-checkpoints', action='store_true')
    p.add_argument('--report-only', action='store_true',
                   help='report the finished runs of --out, train nothing')
    p.add_argument('--rescore-objectness', nargs='+', type=float,
                   default=None, metavar='G',
                   help='train nothing: evaluate the kept checkpoints of '
                   'the finished runs again with clip scores softmax * '
                   '(max_c p_det) ** G (the runs used G = 1); writes '
                   '<out>/lvis_vocab_rescore.md (with --report-only: '
                   'report what is rescored, evaluate nothing)')
    add_run_options(p)
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    setup_runs(args.threads)
    from mmdet_clipjoint.benchmark.lvis_vocab import (
        LVIS_VOCAB_PRESETS, lvis_rescore_report, lvis_vocab_report,
        rescore_lvis_vocab, run_lvis_vocab)
    out = args.out or f'outputs/lvis_vocab_{args.preset}'
    if args.rescore_objectness:
        seeds = args.seeds or LVIS_VOCAB_PRESETS[args.preset]['seeds']
        records = rescore_lvis_vocab(out, args.arms, seeds,
                                     args.rescore_objectness,
                                     report_only=args.report_only)
        print_report(lvis_rescore_report(records),
                     osp.join(out, 'lvis_vocab_rescore.md'))
        return records
    records = run_lvis_vocab(args.preset, out, args.arms, args.seeds,
                             pretrain_cache=args.pretrain_cache,
                             quiet=not args.verbose,
                             keep_checkpoints=args.keep_checkpoints,
                             report_only=args.report_only)
    md = lvis_vocab_report(records)
    print_report(md, osp.join(out, 'lvis_vocab.md'))
    return records


if __name__ == '__main__':
    run_main(main, 'benchmark_lvis_vocab')
