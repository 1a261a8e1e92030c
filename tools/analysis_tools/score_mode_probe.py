# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Train one ClipJoint detector on synthetic data, then evaluate the same
checkpoint in every inference score mode (det / fuse / clip).

This produced the "Default score mode" table of
configs/clipjoint_faster-rcnn/README.md:
    python tools/analysis_tools/score_mode_probe.py --detector frcnn \\
        --iters 60 --lr 0.005 --out outputs/score_mode_probe
"""
import argparse
import json
import os
import os.path as osp

import torch
from mmengine.runner import Runner

import mmdet_clipjoint  # noqa: F401
from mmdet_clipjoint.benchmark.experiments import build_experiment_cfg
from mmdet_clipjoint.datasets import make_synthetic_dataset
from mmdet_clipjoint.models.layers import set_score_mode
from mmdet_clipjoint.utils.cli import positive_int


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--detector', default='frcnn', choices=['frcnn', 'rtmdet'])
    p.add_argument('--iters', type=positive_int, default=60)
    p.add_argument('--lr', type=float, default=0.005)
    p.add_argument('--batch-size', type=int, default=4)
    p.add_argument('--img-size', type=int, default=160)
    p.add_argument('--num-val', type=int, default=60)
    p.add_argument('--out', default='outputs/score_mode_probe')
    args = p.parse_args(argv)
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    size = (args.img_size, args.img_size)
    train = make_synthetic_dataset(osp.join(args.out, 'train_data'), 96, 8,
                                   size, objects_per_image=(1, 3), seed=1234)
    cfg = build_experiment_cfg(args.detector, 'clipjoint', train,
                               osp.join(args.out, 'work_train'), 'clean', 0,
                               img_size=args.img_size, max_iters=args.iters,
                               batch_size=args.batch_size, lr=args.lr)
    Runner.from_cfg(cfg).train()
    ckpt = osp.join(args.out, 'work_train', f'iter_{args.iters}.pth')
    # a larger held-out split from the same generator
    val = make_synthetic_dataset(osp.join(args.out, 'val_data'), 2,
                                 args.num_val, size,
                                 objects_per_image=(1, 3), seed=99)
    cfg = build_experiment_cfg(args.detector, 'clipjoint', val,
                               osp.join(args.out, 'work_eval'), 'clean', 0,
                               img_size=args.img_size, max_iters=args.iters,
                               batch_size=args.batch_size, lr=args.lr)
    cfg.load_from = ckpt
    runner = Runner.from_cfg(cfg)
    out = {}
    for mode in ('det', 'fuse', 'clip'):
        set_score_mode(runner.model, mode)
        m = runner.test()
        out[mode] = {k: m.get(k) for k in ('coco/bbox_mAP',
                                           'coco/bbox_mAP_50')}
    with open(osp.join(args.out, 'score_modes.json'), 'w') as f:
        json.dump(out, f, indent=1)
    print('\n'.join(f'{k:>5s}: mAP {v["coco/bbox_mAP"]}  mAP50 '
                    f'{v["coco/bbox_mAP_50"]}' for k, v in out.items()))
    return out


if __name__ == '__main__':
    main()
