# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""The ClipJoint branch's gradient into the backbone + neck, relative to the
detector's own, at initialisation, for several ``max_grad_share`` bounds.

Each main config is shrunk for CPU (``shrink_config``, 128 px, the 12
synthetic classes, random text bank) and fed one batch of
``mmdet.testing.demo_mm_inputs`` (2 images, 3 + 2 boxes); the share is
``|g_all - g_det| / |g_det|`` over the backbone and neck
(:func:`mmdet_clipjoint.benchmark.grad_share.grad_share_at_init`).

Example:
    python tools/analysis_tools/grad_share.py --bounds none 4 1 0.25
"""
import argparse
import tempfile

import mmdet_clipjoint  # noqa: F401
from mmdet.utils import register_all_modules
from mmdet_clipjoint.benchmark import DETECTORS
from mmdet_clipjoint.benchmark.grad_share import grad_share_at_init
from mmdet_clipjoint.datasets import make_synthetic_dataset


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--detectors', nargs='+', default=list(DETECTORS),
                   choices=list(DETECTORS))
    p.add_argument('--bounds', nargs='+', default=['none', '4', '1', '0.25'],
                   help="max_grad_share values ('none': unbounded)")
    args = p.parse_args(argv)
    register_all_modules()
    bounds = [None if b.lower() == 'none' else float(b) for b in args.bounds]
    with tempfile.TemporaryDirectory() as tmp:
        data = make_synthetic_dataset(tmp, num_train=2, num_val=1,
                                      img_size=(128, 128))
        print('| detector | ' + ' | '.join(
            f'max_grad_share={b}' for b in bounds) + ' |')
        print('|---|' + '---|' * len(bounds))
        for det in args.detectors:
            shares = [grad_share_at_init(det, b, data, tmp)['share']
                      for b in bounds]
            cells = [f'{s:.2f}x' for s in shares]
            print(f'| {DETECTORS[det]["name"]} | ' + ' | '.join(cells) + ' |')


if __name__ == '__main__':
    main()
