# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Speed and memory of ClipJoint next to its stock twin, in one process.

The command line of :func:`mmdet_clipjoint.benchmark.speed.
run_speed_benchmark` (what is measured and how: that module). Every score
mode of the ClipJoint model and the stock detector, with the same weights,
timed interleaved: inference, the training step, peak memory, parameters,
FLOPs, optionally a per-op profile and the text-bank initialisation.
Results: ``docs/benchmark_speed.md``. The last line of the output always
reads (batch-1 inference ratios ClipJoint / stock in det / fuse mode, the
training-step ratio; ``nan`` for a detector that was not run)::

    ratios: frcnn det=1.001 fuse=1.030 train=1.020 | rtmdet det=... fuse=... train=...

Examples:
    python tools/benchmark_speed.py --quick
    python tools/benchmark_speed.py --out /tmp/speed  # + .md and .json
    python tools/benchmark_speed.py --device cuda --img-size 640 --reps 50
"""
import sys

import mmdet_clipjoint  # noqa: F401
from mmdet_clipjoint.benchmark.speed import (run_speed_benchmark,
                                             speed_settings)
from mmdet_clipjoint.benchmark.speed_detectors import (SCORE_MODES,
                                                       SPEED_DETECTORS)
from mmdet_clipjoint.utils.cli import doc_parser

#: options that are no setting of the run
_RUN_ARGS = ('preset', 'detectors', 'device', 'threads', 'out')


def parse_args(argv=None):
    p = doc_parser(__doc__)
    add, flag = p.add_argument, _flag(p)
    add('--quick', dest='preset', action='store_const', const='quick',
        default='full', help='the quick preset (< 2 min on 2 CPU cores: '
        '128 px, batch 1, Faster R-CNN with ResNet-18 and the CPU-test RoI '
        'budgets); default: the full one')
    add('--detectors', nargs='+', choices=list(SPEED_DETECTORS),
        help='default: all whose ClipJoint config is shipped')
    add('--device', default='cpu', help='cpu or cuda[:i]')
    for name, what in [('img-size', None), ('reps', None),
                       ('train-reps', 'repetitions of the training step'),
                       ('reps-batched', 'repetitions of batches > 1'),
                       ('warmup', None), ('train-batch', None),
                       ('text-classes', 'C of the text-bank timing')]:
        add('--' + name, type=int, help=what)
    add('--batches', type=int, nargs='+',
        help='inference batch sizes (first: the ratios line)')
    add('--modes', nargs='+', choices=SCORE_MODES,
        help='ClipJoint score modes to time (default: all)')
    flag('light_backbone', '--light-backbone', '--r50',
         'Faster R-CNN with ResNet-18 (both models), or keep ResNet-50')
    flag('small_rois', '--small-rois', '--stock-rois', 'Faster R-CNN with '
         'the CPU-test RoI budgets (100 proposals, 64 sampled RoIs), or not')
    flag('aa', '--aa', '--no-aa', 'time the stock model twice per round '
         '(A/A noise control)')
    flag('text_bank', '--text-bank', '--no-text-bank',
         'time the text-bank initialisation')
    flag('train', None, '--no-train', 'skip the training-step timing')
    flag('memory', None, '--no-memory', 'skip the peak memory')
    flag('flops', None, '--no-flops', 'skip the FLOPs')
    flag('dense_fuse', '--dense-fuse', None, 'one-stage heads: embed every '
         'location in clip / fuse mode (the worst case), not only those '
         'whose score can reach score_thr (few with random weights)')
    add('--kept-fraction', type=float, metavar='F', help='one-stage heads: '
        'shift the classifier biases (stock and ClipJoint alike) so that '
        'this fraction of the locations can reach score_thr, as in a '
        'trained detector')
    add('--profile', type=int, metavar='CALLS', help='torch.profiler: per-op '
        'self CPU time of stock vs ClipJoint fuse, CALLS calls (0: off)')
    add('--text-templates', type=int, nargs='+',
        help='T of each text-bank timing (default: 1 10)')
    add('--clip-model', help='open_clip model of the text-bank timing')
    add('--threads', type=int, help='torch intra-op threads (default on '
        'CPU: 1, less noise on a shared machine; on CUDA: torch\'s)')
    add('--out', help='write <out>.md and <out>.json')
    args = p.parse_args(argv)
    try:  # every option is checked before any work
        speed_settings(args.preset, args.device, **_options(args))
    except ValueError as e:
        p.error(str(e))
    return args


def _flag(p):
    def flag(dest, on, off, what):
        for opt, value in ((on, True), (off, False)):
            if opt:
                p.add_argument(opt, dest=dest, action='store_const',
                               const=value,
                               help=what if opt == (on or off) else None)
    return flag


def _options(args) -> dict:
    return {k: v for k, v in vars(args).items()
            if k not in _RUN_ARGS and v is not None}


def main(argv=None) -> dict:
    """Run the benchmark and print the report (also written with
    ``--out``); the last printed line is the ``ratios:`` line. Returns the
    results."""
    args = parse_args(argv)
    command = ' '.join(['python tools/benchmark_speed.py',
                        *(sys.argv[1:] if argv is None else argv)])
    return run_speed_benchmark(
        args.preset, detectors=args.detectors, out=args.out,
        device=args.device, threads=args.threads, command=command,
        **_options(args))


if __name__ == '__main__':
    main()
