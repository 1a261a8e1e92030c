# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""`make demo`: stock vs ClipJoint detector on a generated dataset, on CPU.

1. generates a small detection dataset, COCO format: by default the
   semantic world (real COCO class names -- vehicles, animals, fruit --
   drawn as Noto Color Emoji, with clutter and distractors; the ClipJoint
   text bank starts from the shipped CLIP text embeddings of the names),
   or with ``--world shapes`` coloured shapes with confusable classes
   (meaningless names, a random text bank);
2. trains the stock detector and its ClipJoint twin with the same data,
   schedule and seed, on clean labels and under long tail + 30 % label
   noise (``both``, the setting the method is claimed to help in);
3. evaluates each model once, at the end of its training, with CocoMetric
   on the validation images (the saved checkpoint and config give the same
   number under ``tools/test.py`` / ``mim test``) and prints the comparison
   per setting;
4. saves a picture of ground truth | stock | ClipJoint on the same
   validation images (models of the last setting, the evaluated weights),
   each model drawn at its own score threshold.

The console shows the steps, one progress bar per training and evaluation,
and the comparison; each run's full output is in its work_dir/console.log
(``--verbose`` shows it instead).

Usage: python tools/demo.py [--detector rtmdet|frcnn|yolo11] [--iters N]
       [--settings clean both] [--world semantic|shapes] [--out outputs/demo]
"""
import argparse
import json
import os
import os.path as osp
import time

import mmdet_clipjoint  # noqa: F401
from mmdet_clipjoint.benchmark.experiments import (DETECTORS, SETTINGS,
                                                   build_experiment_cfg,
                                                   run_experiment)
from mmdet_clipjoint.benchmark.presets import LR
from mmdet_clipjoint.datasets import make_synthetic_dataset
from mmdet_clipjoint.models.layers import ContrastiveTextBank
from mmdet_clipjoint.utils.cli import positive_int
from mmdet_clipjoint.utils.config_files import config_file
from mmdet_clipjoint.utils.console import console_to_file
from mmdet_clipjoint.visualization import describe_setting, draw_comparison

#: the semantic world's demo classes: three families of COCO names whose
#: members look alike and sit close in CLIP space
DEMO_CLASSES = ('car', 'bus', 'truck', 'dog', 'cat', 'horse', 'apple',
                'banana', 'orange')
#: training iterations per model when --iters is not given
DEFAULT_ITERS = dict(rtmdet=300, frcnn=120, yolo11=300)
#: smallest --img-size the detectors' strides and augmentations handle
MIN_IMG_SIZE = 64


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--detector', default='rtmdet', choices=list(DETECTORS))
    p.add_argument('--settings', nargs='+', default=['clean', 'both'],
                   choices=list(SETTINGS),
                   help='label settings to train in (default: clean and '
                   'both = long tail + 30 %% label noise)')
    p.add_argument('--world', default='semantic',
                   choices=['semantic', 'shapes'],
                   help='semantic: COCO names drawn as emoji, the text bank '
                   'from CLIP text (needs the Noto Color Emoji font, '
                   'installed by make setup); shapes: coloured shapes')
    p.add_argument('--iters', type=positive_int, default=None,
                   help='training iterations per model, >= 1 (default: ' +
                   ', '.join(f'{v} for {k}' for k, v in DEFAULT_ITERS.items())
                   + ')')
    p.add_argument('--img-size', type=positive_int, default=160,
                   help=f'image side in pixels (>= {MIN_IMG_SIZE})')
    p.add_argument('--num-train', type=positive_int, default=160)
    p.add_argument('--num-val', type=positive_int, default=40)
    p.add_argument('--num-show', type=positive_int, default=4,
                   help='validation images in the side-by-side picture '
                   '(<= --num-val)')
    p.add_argument('--score-thr', type=float, default=None,
                   help='draw every model\'s boxes scoring at least this '
                   '(default: each model at its own threshold, its best F1 '
                   'on the validation images: scores of different models '
                   'are on different scales)')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--out', default='outputs/demo')
    p.add_argument('--verbose', action='store_true',
                   help='show each run\'s logs on the console (default: '
                   'in its work_dir/console.log, with progress bars)')
    args = p.parse_args(argv)
    # every argument is checked before any work (data, training)
    if args.img_size < MIN_IMG_SIZE:
        p.error(f'--img-size must be at least {MIN_IMG_SIZE}, got '
                f'{args.img_size}')
    if args.num_show > args.num_val:
        p.error(f'--num-show ({args.num_show}) must not exceed --num-val '
                f'({args.num_val}): the picture shows validation images')
    if args.score_thr is not None and not 0 <= args.score_thr <= 1:
        p.error(f'--score-thr must be in [0, 1], got {args.score_thr}')
    if args.seed < 0:
        p.error(f'--seed must be >= 0, got {args.seed}')
    try:
        config_file(DETECTORS[args.detector]['clipjoint'])
    except FileNotFoundError as e:
        p.error(f'{e} Use --detector frcnn.')
    return args


def train_and_evaluate(cfg, label, step, total, verbose=False, say=print):
    """Train ``cfg`` with :func:`run_experiment`, which evaluates it once,
    by the validation that ends the training (one progress bar each; the
    run's own logs go to ``<work_dir>/console.log`` unless ``verbose``);
    returns the evaluated model (:func:`evaluated_model`), the metrics and
    the text bank's initialisation, in words."""
    log = osp.join(cfg.work_dir, 'console.log')
    say(f'[{step}/{total}] {label}: {cfg.train_cfg.max_iters} iterations '
        f'on CPU' + ('' if verbose else f' (log: {log})'))
    cfg.log_level = 'INFO'
    metrics = run_experiment(cfg, quiet=not verbose, desc='   ')['default']
    with console_to_file(log, enabled=not verbose):
        model = evaluated_model(cfg)
    inits = sorted({m.init_description for m in model.modules()
                    if isinstance(m, ContrastiveTextBank)})
    return model, metrics, inits


def evaluated_model(cfg):
    """The model of the run's last checkpoint -- the weights its final
    validation evaluated (the EMA ones where the config keeps an EMA) --
    on CPU, in eval mode, with ``model.cfg`` (what ``inference_detector``
    reads the test pipeline from). Its text banks are initialised first as
    the config says, so that they can say how."""
    from mmdet.registry import MODELS
    from mmengine.model import revert_sync_batchnorm
    from mmengine.runner import find_latest_checkpoint, load_checkpoint
    model = MODELS.build(cfg.model)
    model.init_weights()
    model = revert_sync_batchnorm(model)
    load_checkpoint(model, find_latest_checkpoint(cfg.work_dir),
                    map_location='cpu', strict=True)
    model.cfg = cfg
    return model.eval()


def metrics_table(metrics, settings, title):
    """The comparison table (mAP as fractions, as mmdet prints them), with
    what each setting's labels were."""
    keys = [('coco/bbox_mAP', 'mAP'), ('coco/bbox_mAP_50', 'mAP50'),
            ('coco/bbox_mAP_75', 'mAP75')]
    lines = [title,
             'COCO box mAP on the validation images, 0-1 (the scale mmdet '
             'and `mim test` print)',
             f'{"setting":>8s} {"metric":>8s} {"stock":>8s} '
             f'{"ClipJoint":>10s}']
    for setting in settings:
        for k, short in keys:
            a, b = (metrics[(setting, m)].get(k, 0.0)
                    for m in ('stock', 'clipjoint'))
            lines.append(f'{setting:>8s} {short:>8s} {a:8.3f} {b:10.3f}')
    lines += ['training labels: ' + describe_setting(s) for s in settings]
    return '\n'.join(lines)


#: the data's name in the saved configs' names
_DATA_NAMES = dict(semantic='semantic', shapes='synthetic')


def make_demo_data(args):
    """The demo's dataset (``make_*_dataset``'s dict) under
    ``<out>/data``, and the ClipJoint text bank's initialisation: the
    shipped CLIP rows of the COCO names in the semantic world, None (a
    random bank) for the shapes."""
    out, size = osp.join(args.out, 'data'), (args.img_size, args.img_size)
    if args.world == 'shapes':
        return make_synthetic_dataset(
            out, args.num_train, args.num_val, size,
            objects_per_image=(1, 3), seed=args.seed), None
    from mmdet_clipjoint.datasets import make_semantic_dataset
    try:
        data = make_semantic_dataset(
            out, DEMO_CLASSES, args.num_train, args.num_val, size,
            objects_per_image=(1, 3), size_range=(0.3, 0.7), distractors=1,
            seed=args.seed)
    except FileNotFoundError as e:  # no emoji font
        raise FileNotFoundError(
            f'{e} (or run the demo on coloured shapes: --world shapes)'
        ) from e
    return data, dict(init_source='vocabulary', vocabulary='coco')


def main(argv=None):
    """Run the demo; returns ``metrics`` (``{(setting, method): dict}``),
    ``models`` (of the last setting), ``picture`` (see
    :func:`~mmdet_clipjoint.visualization.draw_comparison`), ``configs``
    (``{(setting, method): saved config}``) and ``table``."""
    args = parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    log = osp.join(args.out, 'demo.log')
    with console_to_file(log, enabled=not args.verbose) as console:
        return _run(args, lambda *a: print(*a, file=console, flush=True),
                    log)


def _run(args, say, log):
    import torch

    from mmdet_clipjoint.utils.small_config import (renamed_config,
                                                    shrunk_config_name)
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    os.makedirs(args.out, exist_ok=True)
    t0 = time.time()
    det = args.detector
    iters = args.iters or DEFAULT_ITERS[det]
    total = 2 + 2 * len(args.settings)
    say(f'[1/{total}] generating {args.num_train}+{args.num_val} '
        f'{args.world} images in {args.out}/data')
    data, text_init = make_demo_data(args)
    models, metrics, inits, configs = {}, {}, set(), {}
    step = 1
    for setting in args.settings:
        for method in ('stock', 'clipjoint'):
            step += 1
            work_dir = osp.join(args.out, f'work_dir_{method}_{setting}')
            cfg = build_experiment_cfg(
                det, method, data, work_dir, setting,
                args.seed, img_size=args.img_size, max_iters=iters,
                batch_size=4 if det == 'frcnn' else 8, lr=LR[det],
                text_init=text_init)
            cfg.default_hooks.logger.interval = max(10, iters // 10)
            cfg.default_hooks.checkpoint.interval = iters
            # saved in work_dir under a name that says what it is
            name = shrunk_config_name(
                DETECTORS[det][method], cfg,
                f'{_DATA_NAMES[args.world]}-{setting}-{args.img_size}px')
            cfg = renamed_config(cfg, name)
            configs[(setting, method)] = osp.join(work_dir, name)
            label = ('ClipJoint ' if method == 'clipjoint' else 'stock ') + \
                DETECTORS[det]['name'] + f' ({setting} labels)'
            models[method], metrics[(setting, method)], init = \
                train_and_evaluate(cfg, label, step, total, args.verbose,
                                   say)
            inits.update(init)
    setting = args.settings[-1]
    say(f'[{total}/{total}] drawing ground truth | stock | ClipJoint '
        f'({setting} models)')
    picture = draw_comparison(
        models, metrics, setting, data, args.num_show, args.score_thr,
        osp.join(args.out, 'detections_side_by_side.png'))

    table = metrics_table(
        metrics, args.settings,
        f'\n=== {DETECTORS[det]["name"]}, {args.world} val ({args.num_val} '
        f'images), {iters} iterations each, seed {args.seed} ===')
    say(table)
    bench = 'semantic' if args.world == 'semantic' else 'accuracy'
    say('(one seed on a short schedule: seed-to-seed differences are of '
        f'the same size; docs/benchmark_{bench}.md has the paired, '
        'multi-seed comparison)')
    with open(osp.join(args.out, 'metrics.json'), 'w') as f:
        json.dump({f'{s}/{m}': v for (s, m), v in metrics.items()}, f,
                  indent=1)
    say(f'ClipJoint text bank initialised from: {"; ".join(sorted(inits))}'
        + ('' if text_init else ' (the shapes have no CLIP text; see '
           'docs/faq.md for CLIP initialisation)'))
    thr = ', '.join(f'{m} {t:.2f} ({how})'
                    for m, (t, how) in picture['thresholds'].items())
    say(f'\ndone in {(time.time() - t0) / 60:.1f} min. Outputs:\n'
        f'  comparison picture: {picture["path"]} (drawn at: {thr})\n'
        f'  metrics:            {osp.join(args.out, "metrics.json")}\n'
        f'  logs/checkpoints:   {args.out}/work_dir_<method>_<setting>/ '
        '(console.log: each run\'s full output; the config, e.g. '
        f'{osp.basename(configs[(setting, "clipjoint")])}, re-evaluates '
        f'with tools/test.py CONFIG iter_{iters}.pth)' +
        ('' if args.verbose else f'\n  everything else:    {log}'))
    return dict(metrics=metrics, models=models, picture=picture,
                configs=configs, table=table)


if __name__ == '__main__':
    main()
