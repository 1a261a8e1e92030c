# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""`make demo`: stock vs ClipJoint detector on a generated dataset, on CPU.

1. generates a small synthetic detection dataset (coloured shapes with
   confusable classes, COCO format);
2. trains the stock detector and its ClipJoint twin with the same data,
   schedule and seed, on clean labels and under long tail + 30 % label
   noise (``both``, the setting the method is claimed to help in);
3. evaluates them with CocoMetric and prints the comparison per setting;
4. saves a picture of ground truth | stock | ClipJoint on the same
   validation images (models of the last setting, the evaluated weights).

The console shows the steps, one progress bar per training and evaluation,
and the comparison; each run's full output is in its work_dir/console.log
(``--verbose`` shows it instead).

Usage: python tools/demo.py [--detector rtmdet|frcnn|yolo11] [--iters N]
       [--settings clean both] [--out outputs/demo]
"""
import argparse
import json
import os
import os.path as osp
import sys
import time

import mmdet_clipjoint  # noqa: F401
from mmdet_clipjoint.benchmark.experiments import (DETECTORS, REPO_ROOT,
                                                   SETTINGS,
                                                   build_experiment_cfg)
from mmdet_clipjoint.benchmark.presets import LR
from mmdet_clipjoint.datasets import make_synthetic_dataset
from mmdet_clipjoint.visualization import draw_comparison


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--detector', default='rtmdet', choices=list(DETECTORS))
    p.add_argument('--settings', nargs='+', default=['clean', 'both'],
                   choices=list(SETTINGS),
                   help='label settings to train in (default: clean and '
                   'both = long tail + 30 %% label noise)')
    p.add_argument('--iters', type=int, default=None,
                   help='training iterations per model (default: 300 for '
                   'rtmdet and yolo11, 120 for frcnn)')
    p.add_argument('--img-size', type=int, default=160)
    p.add_argument('--num-train', type=int, default=160)
    p.add_argument('--num-val', type=int, default=40)
    p.add_argument('--num-show', type=int, default=4,
                   help='validation images in the side-by-side picture')
    p.add_argument('--score-thr', type=float, default=0.3,
                   help='draw predictions scoring at least this')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--out', default='outputs/demo')
    p.add_argument('--verbose', action='store_true',
                   help='show each run\'s logs on the console (default: '
                   'in its work_dir/console.log, with progress bars)')
    return p.parse_args(argv)


def train_and_test(cfg, label, step, total, verbose=False, say=print):
    """Train and test ``cfg`` with one progress bar each (the run's own
    logs go to ``<work_dir>/console.log`` unless ``verbose``); returns the
    evaluated model (the EMA weights where the config keeps an EMA), the
    test metrics and the text bank's initialisation, in words."""
    from mmengine.runner import Runner

    from mmdet_clipjoint.engine.hooks import ProgressBarHook
    from mmdet_clipjoint.models.layers import ContrastiveTextBank
    from mmdet_clipjoint.utils.console import console_to_file
    log = osp.join(cfg.work_dir, 'console.log')
    say(f'[{step}/{total}] {label}: {cfg.train_cfg.max_iters} iterations '
        f'on CPU' + ('' if verbose else f' (log: {log})'))
    cfg.log_level = 'INFO'
    with console_to_file(log, enabled=not verbose) as console:
        runner = Runner.from_cfg(cfg)
        runner.register_hook(ProgressBarHook('   ', stream=console))
        runner.train()
        metrics = runner.test()
    model = runner.model
    ema = [h for h in runner.hooks if type(h).__name__ == 'EMAHook']
    if ema:  # the metrics come from the EMA weights: draw those
        model = ema[0].ema_model.module
    model.cfg = cfg  # what inference_detector reads the test pipeline from
    model.eval()
    inits = sorted({m.init_description for m in model.modules()
                    if isinstance(m, ContrastiveTextBank)})
    return model, metrics, inits


def main(argv=None):
    args = parse_args(argv)
    from mmdet_clipjoint.utils.console import console_to_file
    os.makedirs(args.out, exist_ok=True)
    log = osp.join(args.out, 'demo.log')
    with console_to_file(log, enabled=not args.verbose) as console:
        _run(args, lambda *a: print(*a, file=console, flush=True), log)


def _run(args, say, log):
    import torch
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    os.makedirs(args.out, exist_ok=True)
    t0 = time.time()
    det = args.detector
    iters = args.iters or dict(rtmdet=300, frcnn=120, yolo11=300)[det]
    clip_cfg = osp.join(REPO_ROOT, DETECTORS[det]['clipjoint'])
    if not osp.isfile(clip_cfg):
        sys.exit(f'{clip_cfg} is missing; use --detector frcnn')
    total = 2 + 2 * len(args.settings)
    say(f'[1/{total}] generating {args.num_train}+{args.num_val} synthetic '
        f'images in {args.out}/data')
    data = make_synthetic_dataset(
        osp.join(args.out, 'data'), args.num_train, args.num_val,
        (args.img_size, args.img_size), objects_per_image=(1, 3),
        seed=args.seed)
    models, metrics, inits = {}, {}, set()
    step = 1
    for setting in args.settings:
        for method in ('stock', 'clipjoint'):
            step += 1
            cfg = build_experiment_cfg(
                det, method, data,
                osp.join(args.out, f'work_dir_{method}_{setting}'), setting,
                args.seed, img_size=args.img_size, max_iters=iters,
                batch_size=4 if det == 'frcnn' else 8, lr=LR[det])
            cfg.default_hooks.logger.interval = max(10, iters // 10)
            cfg.default_hooks.checkpoint.interval = iters
            label = ('ClipJoint ' if method == 'clipjoint' else 'stock ') + \
                DETECTORS[det]['name'] + f' ({setting} labels)'
            models[method], metrics[(setting, method)], init = \
                train_and_test(cfg, label, step, total, args.verbose,
                               say)
            inits.update(init)
    setting = args.settings[-1]
    say(f'[{total}/{total}] drawing ground truth | stock | ClipJoint '
        f'({setting} models)')
    picture = draw_comparison(
        models, metrics, setting, data, args.num_show, args.score_thr,
        osp.join(args.out, 'detections_side_by_side.png'))

    keys = [('coco/bbox_mAP', 'mAP'), ('coco/bbox_mAP_50', 'mAP50'),
            ('coco/bbox_mAP_75', 'mAP75')]
    lines = [f'\n=== {DETECTORS[det]["name"]}, synthetic val, {iters} '
             f'iterations each, seed {args.seed} ===',
             f'{"setting":>8s} {"metric":>8s} {"stock":>8s} '
             f'{"ClipJoint":>10s}']
    for setting in args.settings:
        for k, short in keys:
            a, b = (metrics[(setting, m)].get(k, 0.0)
                    for m in ('stock', 'clipjoint'))
            lines.append(f'{setting:>8s} {short:>8s} {a:8.3f} {b:10.3f}')
    say('\n'.join(lines))
    say('(one seed on a short schedule: seed-to-seed differences are of '
        'the same size; docs/benchmark_accuracy.md has the paired, '
        'multi-seed comparison)')
    with open(osp.join(args.out, 'metrics.json'), 'w') as f:
        json.dump({f'{s}/{m}': v for (s, m), v in metrics.items()}, f,
                  indent=1)
    say(f'ClipJoint text bank initialised from: {"; ".join(sorted(inits))}'
        ' (the synthetic classes have no shipped CLIP embeddings; see '
        'docs/faq.md for CLIP initialisation)')
    say(f'\ndone in {(time.time() - t0) / 60:.1f} min. Outputs:\n'
        f'  comparison picture: {picture}\n'
        f'  metrics:            {osp.join(args.out, "metrics.json")}\n'
        f'  logs/checkpoints:   {args.out}/work_dir_<method>_<setting>/ '
        '(console.log: each run\'s full output)' +
        ('' if args.verbose else f'\n  everything else:    {log}'))


if __name__ == '__main__':
    main()
