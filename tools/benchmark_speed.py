# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Speed and memory of ClipJoint next to its stock twin, in one process.

For each detector (Faster R-CNN R50-FPN, RTMDet-tiny) it builds the ClipJoint
model once per score mode (det / clip / fuse) and the stock detector, all
carrying the *same* weights: the ClipJoint state dict is loaded into the stock
model with ``strict=False`` and only ClipJoint-specific keys may be left over.
It then measures, interleaved (the order of the models rotates every
repetition, so machine noise hits all alike):

* inference latency per image (``model.test_step``: pre-processing, forward,
  post-processing and NMS) at batch 1 and batch 8;
* the training step time (``model.train_step``: forward, backward and the
  config's optimizer step; learning rate 0 so that the weights -- and hence
  every model's workload -- stay identical across repetitions);
* peak memory of one call: on CUDA ``max_memory_allocated`` minus what was
  allocated before the call; on CPU the increase of the peak RSS (``VmHWM``)
  during the call (after ``malloc_trim``), i.e. the activations and
  workspace, not the weights;
* parameters and FLOPs (``torch.utils.flop_counter`` on the same inference
  call: convolutions and matrix products, 2 FLOPs per multiply-add; RoIAlign,
  NMS and element-wise ops are not counted);
* optionally the one-off text-bank initialisation (CLIP ViT-B/32 text encoder
  with random weights, C classes x T prompt templates, and the file-cache
  path).

It reports medians with the inter-quartile range and min-max, and the ratio
ClipJoint / stock as the median of the per-repetition ratios (each ratio
taken from the same repetition), from wall-clock and from process CPU time.
``--aa`` times the stock model twice per repetition: the ratio of the two is
the noise floor of the machine. ``--profile N`` adds a per-op diff
(torch.profiler) of stock vs ClipJoint. Inputs are fixed random images; text
banks use ``init_source='random'`` (no CLIP weights offline). On CPU it runs
with 1 torch thread unless ``--threads`` says otherwise (on a shared machine,
multi-threaded OpenMP regions multiply the noise). Results:
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
import json
import os
import os.path as osp
import re
import sys

import torch

from mmdet_clipjoint.benchmark.speed import (SCORE_MODES, SPEED_DETECTORS,
                                             SPEED_PRESETS,
                                             run_speed_benchmark)
from mmdet_clipjoint.benchmark.speed_report import markdown

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


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
    p.add_argument('--modes', nargs='+', choices=SCORE_MODES,
                   default=list(SCORE_MODES),
                   help='ClipJoint score modes to time (default: all)')
    p.add_argument('--dense-fuse', action='store_true',
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
    p.add_argument('--text-classes', type=int, default=80)
    p.add_argument('--text-templates', type=int, nargs='+', default=[1, 10])
    p.add_argument('--clip-model', default='ViT-B-32')
    p.add_argument('--threads', type=int, default=None,
                   help='torch intra-op threads (default on CPU: 1 -- on a '
                   'shared machine multi-threaded OpenMP regions wait for '
                   'descheduled threads, which multiplies the noise; on '
                   'CUDA: torch\'s default)')
    p.add_argument('--out', default=None,
                   help='write <out>.md and <out>.json')
    args = p.parse_args(argv)
    preset = SPEED_PRESETS['quick' if args.quick else 'full']
    for k, v in preset.items():
        if getattr(args, k, None) is None:
            setattr(args, k, v)
    if args.device.startswith('cuda') and not torch.cuda.is_available():
        p.error('--device cuda but CUDA is not available')
    if args.kept_fraction is not None and not 0 < args.kept_fraction <= 1:
        p.error(f'--kept-fraction {args.kept_fraction} must be in (0, 1]')
    if args.kept_fraction is not None and args.dense_fuse:
        p.error('--kept-fraction sets how many locations the sparse scoring '
                'embeds; --dense-fuse embeds all of them: use one')
    return args



def main(argv=None) -> dict:
    """Run the benchmark, print (and optionally write) the report.

    The last printed line is the ``ratios:`` line. Returns the results dict
    (also written as JSON with ``--out``).
    """
    args = parse_args(argv)
    args.default_threads = torch.get_num_threads()
    if args.threads is None and args.device == 'cpu':
        args.threads = 1
    import mmdet_clipjoint  # noqa: F401
    from mmdet.utils import register_all_modules
    from mmengine.logging import MMLogger
    register_all_modules()
    logger = MMLogger.get_current_instance()
    log_level = logger.level
    logger.setLevel('WARNING')  # init_weights logs every parameter
    try:
        if args.threads:
            torch.set_num_threads(args.threads)
        command = 'python ' + ' '.join(
            [osp.relpath(osp.abspath(__file__), REPO_ROOT)] +
            list(sys.argv[1:] if argv is None else argv))
        results = run_speed_benchmark(args, command)
    finally:  # in-process callers (tests) get their settings back
        torch.set_num_threads(args.default_threads)
        logger.setLevel(log_level)
    text = markdown(results)
    if args.out:
        prefix = re.sub(r'\.(md|json)$', '', args.out)
        d = osp.dirname(prefix)
        if d:
            os.makedirs(d, exist_ok=True)
        with open(prefix + '.md', 'w') as f:
            f.write(text)
        with open(prefix + '.json', 'w') as f:
            json.dump(results, f, indent=1)
    print()
    print(text.rstrip('\n').rsplit('\n', 1)[0])
    print(f"(wall time {results['wall_s']:.1f} s)")
    print(results['ratios_line'], flush=True)
    return results


if __name__ == '__main__':
    main()
