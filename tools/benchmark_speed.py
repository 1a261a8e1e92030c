# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Speed and memory of ClipJoint next to its stock twin, in one process.

For each detector it times the ClipJoint model in every score mode (det /
clip / fuse) and the stock detector, all with the same weights, interleaved:
inference per image, the training step, peak memory, parameters and FLOPs,
optionally a per-op profile (``--profile``) and the text-bank
initialisation (``--text-bank``); ``--aa`` times stock twice (the noise
floor). What is measured and how: :mod:`mmdet_clipjoint.benchmark.speed`,
whose :func:`run_speed_benchmark` this is the command line of. On CPU it
runs with 1 torch thread unless ``--threads`` says otherwise. Results:
``docs/benchmark_speed.md``.

The last line of the output always reads::

    ratios: frcnn det=1.001 fuse=1.030 train=1.020 | rtmdet det=... fuse=... train=...

(batch-1 inference ratios in det / fuse mode and the training-step ratio;
``nan`` for a detector that was not run).

Examples:
    python tools/benchmark_speed.py --quick
    python tools/benchmark_speed.py --out /tmp/speed  # + .md and .json
    python tools/benchmark_speed.py --device cuda --img-size 640 --reps 50
"""
import argparse
import sys

import mmdet_clipjoint  # noqa: F401
from mmdet_clipjoint.benchmark.speed import (run_speed_benchmark,
                                             speed_settings)
from mmdet_clipjoint.benchmark.speed_detectors import (SCORE_MODES,
                                                       SPEED_DETECTORS)

#: options that are no setting of the run
_RUN_ARGS = ('quick', 'detectors', 'device', 'threads', 'out')


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--quick', action='store_true',
                   help='< 2 min on 2 CPU cores: 128 px, 11 repetitions '
                   '(5 for training), '
                   'batch 1, Faster R-CNN with a ResNet-18 backbone and '
                   'CPU-test RoI budgets')
    p.add_argument('--detectors', nargs='+', choices=list(SPEED_DETECTORS),
                   default=None,
                   help='default: all whose ClipJoint config exists')
    p.add_argument('--device', default='cpu', help='cpu or cuda[:i]')
    p.add_argument('--img-size', type=int, default=None)
    p.add_argument('--reps', type=int, default=None)
    p.add_argument('--train-reps', type=int, default=None,
                   help='repetitions of the training step')
    p.add_argument('--reps-batched', type=int, default=None,
                   help='repetitions for inference batches > 1')
    p.add_argument('--warmup', type=int, default=None)
    p.add_argument('--batches', type=int, nargs='+', default=None,
                   help='inference batch sizes (first: the ratios line)')
    p.add_argument('--train-batch', type=int, default=None)
    p.add_argument('--light-backbone', dest='light_backbone',
                   action='store_true', default=None,
                   help='Faster R-CNN with ResNet-18 (both models)')
    p.add_argument('--r50', dest='light_backbone', action='store_false',
                   help='keep ResNet-50 (default of the full run)')
    p.add_argument('--modes', nargs='+', choices=SCORE_MODES, default=None,
                   help='ClipJoint score modes to time (default: all)')
    p.add_argument('--dense-fuse', action='store_true', default=None,
                   help='one-stage heads: embed every location in clip / fuse '
                   'mode (the worst case) instead of only those whose score '
                   'can reach score_thr (how many do depends on the weights: '
                   'few with random ones)')
    p.add_argument('--kept-fraction', type=float, default=None,
                   metavar='F',
                   help='one-stage heads: shift the classifier biases (stock '
                   'and ClipJoint alike) so that this fraction of the '
                   'locations can reach score_thr, as in a trained detector '
                   '(random weights: none do, so the sparse scoring would '
                   'embed nothing)')
    p.add_argument('--no-train', dest='train', action='store_false',
                   default=None,
                   help='skip the training-step measurements')
    p.add_argument('--small-rois', dest='small_rois', action='store_true',
                   default=None, help='Faster R-CNN with the CPU-test RoI '
                   'budgets (100 proposals, 64 sampled RoIs)')
    p.add_argument('--stock-rois', dest='small_rois', action='store_false',
                   help='keep the configs\' RoI budgets (full run)')
    p.add_argument('--aa', dest='aa', action='store_true', default=None,
                   help='time the stock model twice per round (A/A noise '
                   'control)')
    p.add_argument('--no-aa', dest='aa', action='store_false')
    p.add_argument('--no-memory', dest='memory', action='store_false',
                   default=None)
    p.add_argument('--no-flops', dest='flops', action='store_false',
                   default=None)
    p.add_argument('--profile', type=int, default=None, metavar='CALLS',
                   help='torch.profiler: per-op self CPU time of stock vs '
                   'ClipJoint fuse (inference bs1) and training, CALLS calls '
                   'each (0: off)')
    p.add_argument('--text-bank', dest='text_bank', action='store_true',
                   default=None, help='time the text-bank initialisation')
    p.add_argument('--no-text-bank', dest='text_bank', action='store_false')
    p.add_argument('--text-classes', type=int, default=None,
                   help='C of the text-bank timing (default: 80)')
    p.add_argument('--text-templates', type=int, nargs='+', default=None,
                   help='T of each text-bank timing (default: 1 10)')
    p.add_argument('--clip-model', default=None,
                   help='open_clip model of the text-bank timing (default: '
                   'ViT-B-32)')
    p.add_argument('--threads', type=int, default=None,
                   help='torch intra-op threads (default on CPU: 1 -- on a '
                   'shared machine multi-threaded OpenMP regions wait for '
                   'descheduled threads, which multiplies the noise; on '
                   'CUDA: torch\'s default)')
    p.add_argument('--out', default=None,
                   help='write <out>.md and <out>.json')
    args = p.parse_args(argv)
    try:  # every option is checked before any work
        speed_settings(_preset(args), args.device, **_options(args))
    except ValueError as e:
        p.error(str(e))
    return args


def _preset(args) -> str:
    return 'quick' if args.quick else 'full'


def _options(args) -> dict:
    return {k: v for k, v in vars(args).items()
            if k not in _RUN_ARGS and v is not None}


def main(argv=None) -> dict:
    """Run the benchmark and print the report (also written with
    ``--out``); the last printed line is the ``ratios:`` line. Returns the
    results."""
    args = parse_args(argv)
    command = 'python tools/benchmark_speed.py ' + ' '.join(
        sys.argv[1:] if argv is None else argv)
    return run_speed_benchmark(
        _preset(args), detectors=args.detectors, out=args.out,
        device=args.device, threads=args.threads, command=command.strip(),
        **_options(args))


if __name__ == '__main__':
    main()
