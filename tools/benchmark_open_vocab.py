# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Zero-shot box AP from captions: DetCLIPv2's word-region alignment on the
synthetic open-vocabulary set.

Box labels exist for 6 of 9 colour x shape classes, captions mention all 9.
Three arms, same data / seeds / schedule / pre-trained trunk: stock
RTMDet-tiny on the boxes (``boxes-only``), ClipJoint RTMDet-tiny with a
concept-word text bank trained on boxes + captions (``word-region``) and the
same with the word-region loss off (``no-word-region``). Prints (and writes
``<out>/report.md``) box AP on the 3 caption-only classes (zero-shot) and on
the 6 others, per arm and paired by seed. Resumable: finished runs are kept
as ``<out>/runs/*.json``. Library: :mod:`mmdet_clipjoint.benchmark.open_vocab`.

Examples::

    python tools/benchmark_open_vocab.py --preset smoke --out /tmp/ov
    python tools/benchmark_open_vocab.py --preset cpu \\
        --out docs/results/open_vocab_cpu --threads 1
"""
import argparse

from mmdet_clipjoint.utils.cli import (add_run_options, doc_parser, run_main,
                                       setup_runs)

__all__ = ['main']


def parse_args(argv=None) -> argparse.Namespace:
    from mmdet_clipjoint.benchmark.open_vocab import (OPEN_VOCAB_ARMS,
                                                      OPEN_VOCAB_PRESETS)
    p = doc_parser(__doc__)
    p.add_argument('--preset', default='smoke',
                   choices=list(OPEN_VOCAB_PRESETS))
    p.add_argument('--out', default=None,
                   help='output folder (default outputs/open_vocab_<preset>)')
    p.add_argument('--arms', nargs='+', choices=list(OPEN_VOCAB_ARMS),
                   default=list(OPEN_VOCAB_ARMS))
    p.add_argument('--seeds', nargs='+', type=int, default=None)
    add_run_options(p)
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    setup_runs(args.threads)
    from mmdet_clipjoint.benchmark.open_vocab import run_open_vocab_benchmark
    out = args.out or f'outputs/open_vocab_{args.preset}'
    return run_open_vocab_benchmark(args.preset, out, args.arms, args.seeds,
                                    verbose=args.verbose)


if __name__ == '__main__':
    run_main(main, 'benchmark_open_vocab')
