# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""`make demo`: stock vs ClipJoint detector on a generated dataset, on CPU.

1. generates a small synthetic detection dataset (coloured shapes with
   confusable classes, COCO format);
2. trains the stock detector and its ClipJoint twin with the same data,
   schedule and seed, on clean labels and under long tail + 30 % label
   noise (``both``, the setting the method is claimed to help in);
3. evaluates them with CocoMetric and prints the comparison per setting;
4. saves a picture with both models' detections side by side on the same
   validation images (models of the last setting).

Usage: python tools/demo.py [--detector rtmdet|frcnn] [--iters N]
       [--settings clean both] [--out outputs/demo]
"""
import argparse
import json
import os
import os.path as osp
import sys
import time

import numpy as np

import mmdet_clipjoint  # noqa: F401
from mmdet_clipjoint.benchmark.experiments import (DETECTORS, REPO_ROOT,
                                                   SETTINGS,
                                                   build_experiment_cfg)
from mmdet_clipjoint.datasets import make_synthetic_dataset


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--detector', default='rtmdet', choices=list(DETECTORS))
    p.add_argument('--settings', nargs='+', default=['clean', 'both'],
                   choices=list(SETTINGS),
                   help='label settings to train in (default: clean and '
                   'both = long tail + 30 %% label noise)')
    p.add_argument('--iters', type=int, default=None,
                   help='training iterations per model (default: 300 for '
                   'rtmdet, 120 for frcnn)')
    p.add_argument('--img-size', type=int, default=160)
    p.add_argument('--num-train', type=int, default=160)
    p.add_argument('--num-val', type=int, default=40)
    p.add_argument('--num-show', type=int, default=4,
                   help='validation images in the side-by-side picture')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--out', default='outputs/demo')
    return p.parse_args(argv)


def train_and_test(cfg, label, step, total):
    from mmengine.runner import Runner
    print(f'[{step}/{total}] training {label} for '
          f'{cfg.train_cfg.max_iters} iterations (CPU; progress every '
          f'{cfg.default_hooks.logger.interval} its)', flush=True)
    cfg.log_level = 'INFO'
    runner = Runner.from_cfg(cfg)
    runner.train()
    metrics = runner.test()
    model = runner.model
    model.cfg = cfg  # what inference_detector reads the test pipeline from
    return model, metrics


def draw(model, img_path, classes, title):
    from mmcv import imread
    from PIL import Image, ImageDraw

    from mmdet.apis import inference_detector
    from mmdet.visualization import DetLocalVisualizer
    result = inference_detector(model, img_path)
    vis = DetLocalVisualizer()
    vis.dataset_meta = dict(classes=classes)
    img = imread(img_path, channel_order='rgb')
    vis.add_datasample(title, img, result, draw_gt=False, show=False,
                       pred_score_thr=0.3)
    out = Image.fromarray(vis.get_image())
    canvas = Image.new('RGB', (out.width, out.height + 18), 'white')
    canvas.paste(out, (0, 18))
    ImageDraw.Draw(canvas).text((4, 3), title, fill='black')
    return np.asarray(canvas)


def main(argv=None):
    args = parse_args(argv)
    import torch
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    os.makedirs(args.out, exist_ok=True)
    t0 = time.time()
    det = args.detector
    iters = args.iters or dict(rtmdet=300, frcnn=120)[det]
    clip_cfg = osp.join(REPO_ROOT, DETECTORS[det]['clipjoint'])
    if not osp.isfile(clip_cfg):
        sys.exit(f'{clip_cfg} is missing; use --detector frcnn')
    total = 2 + 2 * len(args.settings)
    print(f'[1/{total}] generating {args.num_train}+{args.num_val} synthetic '
          f'images in {args.out}/data', flush=True)
    data = make_synthetic_dataset(
        osp.join(args.out, 'data'), args.num_train, args.num_val,
        (args.img_size, args.img_size), objects_per_image=(1, 3),
        seed=args.seed)
    models, metrics = {}, {}
    step = 1
    for setting in args.settings:
        for method in ('stock', 'clipjoint'):
            step += 1
            cfg = build_experiment_cfg(
                det, method, data,
                osp.join(args.out, f'work_dir_{method}_{setting}'), setting,
                args.seed, img_size=args.img_size, max_iters=iters,
                batch_size=8 if det == 'rtmdet' else 4,
                lr=0.004 if det == 'rtmdet' else 0.005)
            cfg.default_hooks.logger.interval = max(10, iters // 10)
            cfg.default_hooks.checkpoint.interval = iters
            label = ('ClipJoint ' if method == 'clipjoint' else 'stock ') + \
                DETECTORS[det]['name'] + f' ({setting} labels)'
            models[method], metrics[(setting, method)] = train_and_test(
                cfg, label, step, total)
    print(f'[{total}/{total}] drawing detections side by side', flush=True)
    val_dir = osp.join(data['data_root'], data['val_img_prefix'])
    imgs = sorted(os.listdir(val_dir))[:args.num_show]
    rows = []
    for name in imgs:
        path = osp.join(val_dir, name)
        rows.append(np.concatenate([
            draw(models[m], path, data['classes'],
                 f'{"ClipJoint" if m == "clipjoint" else "stock"}: {name}')
            for m in ('stock', 'clipjoint')
        ], axis=1))  # models of the last setting
    from PIL import Image
    picture = osp.join(args.out, 'detections_side_by_side.png')
    Image.fromarray(np.concatenate(rows, axis=0)).save(picture)

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
    print('\n'.join(lines))
    print('(one seed on a short schedule: seed-to-seed differences are of '
          'the same size; docs/benchmark_accuracy.md has the paired, '
          'multi-seed comparison)')
    with open(osp.join(args.out, 'metrics.json'), 'w') as f:
        json.dump({f'{s}/{m}': v for (s, m), v in metrics.items()}, f,
                  indent=1)
    print('(ClipJoint text embeddings start random here: CLIP weights '
          'cannot be downloaded offline; see docs/faq.md)')
    print(f'\ndone in {(time.time() - t0) / 60:.1f} min. Outputs:\n'
          f'  comparison picture: {picture}\n'
          f'  metrics:            {osp.join(args.out, "metrics.json")}\n'
          f'  logs/checkpoints:   {args.out}/work_dir_<method>_<setting>/')


if __name__ == '__main__':
    main()
