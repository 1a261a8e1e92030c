# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""`make demo`: generate a small synthetic dataset, train a detector on CPU
for a few iterations, evaluate it with CocoMetric and print the metrics.

Usage: python tools/demo.py [--out outputs/demo] [--iters 60]
"""
import argparse
import os
import os.path as osp
import time

from mmengine.config import Config
from mmengine.runner import Runner

import mmdet_clipjoint  # noqa: F401
from mmdet_clipjoint.datasets import make_synthetic_dataset
from mmdet_clipjoint.utils import shrink_config

BASE = 'mmdet::rtmdet/rtmdet_tiny_8xb32-300e_coco.py'


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--out', default='outputs/demo')
    p.add_argument('--iters', type=int, default=60)
    p.add_argument('--img-size', type=int, default=192)
    p.add_argument('--num-train', type=int, default=64)
    p.add_argument('--num-val', type=int, default=16)
    p.add_argument('--seed', type=int, default=0)
    return p.parse_args()


def main():
    args = parse_args()
    os.makedirs(args.out, exist_ok=True)
    t0 = time.time()
    print(f'[1/3] generating {args.num_train}+{args.num_val} synthetic '
          f'images in {args.out}/data', flush=True)
    data = make_synthetic_dataset(
        osp.join(args.out, 'data'), args.num_train, args.num_val,
        (args.img_size, args.img_size), seed=args.seed)
    child = osp.join(args.out, 'rtmdet_tiny_base.py')
    with open(child, 'w') as f:
        f.write(f"_base_ = '{BASE}'\n")
    cfg = shrink_config(Config.fromfile(child), data,
                        osp.join(args.out, 'work_dir'),
                        img_size=args.img_size, max_iters=args.iters,
                        batch_size=8, seed=args.seed)
    cfg.default_hooks.logger.interval = 10
    print(f'[2/3] training stock RTMDet-tiny for {args.iters} iterations '
          '(CPU)', flush=True)
    runner = Runner.from_cfg(cfg)
    runner.train()
    print('[3/3] evaluating on the validation split', flush=True)
    metrics = runner.test()
    print('\n=== results (stock RTMDet-tiny, synthetic val) ===')
    for k in ('coco/bbox_mAP', 'coco/bbox_mAP_50', 'coco/bbox_mAP_75'):
        print(f'{k:>20s}: {metrics[k]:.4f}')
    print(f'done in {time.time() - t0:.0f} s; outputs in {args.out}/')


if __name__ == '__main__':
    main()
