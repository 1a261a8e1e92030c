# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""The ClipJoint branch's gradient into the backbone + neck, relative to the
detector's own, at initialisation, for several ``max_grad_share`` bounds.

Each main config is shrunk for CPU (``shrink_config``, 128 px, the 12
synthetic classes, random text bank) and fed one batch of
``mmdet.testing.demo_mm_inputs`` (2 images, 3 + 2 boxes); the share is
``|g_all - g_det| / |g_det|`` over the backbone and neck
(:func:`mmdet_clipjoint.utils.branch_grad_share`).

Example:
    python tools/analysis_tools/grad_share.py --bounds none 4 1 0.25
"""
import argparse
import os.path as osp
import tempfile

import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

import mmdet_clipjoint  # noqa: F401
from mmdet.registry import MODELS
from mmdet.testing import demo_mm_inputs
from mmdet.utils import register_all_modules
from mmdet_clipjoint.datasets import make_synthetic_dataset
from mmdet_clipjoint.utils import branch_grad_share, shrink_config
from mmdet_clipjoint.utils.experiments import DETECTORS, REPO_ROOT


def measure(det: str, bound, data: dict, work_dir: str) -> dict:
    cfg = shrink_config(
        Config.fromfile(osp.join(REPO_ROOT, DETECTORS[det]['clipjoint'])),
        data, work_dir, img_size=128)
    head = cfg.model.roi_head.bbox_head if det == 'frcnn' else \
        cfg.model.bbox_head
    head.text_bank.update(init_source='random', cache_dir=None)
    head.max_grad_share = bound
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    packed = demo_mm_inputs(batch_size=2, image_shapes=[(3, 128, 128)] * 2,
                            num_items=[3, 2],
                            num_classes=len(data['classes']))
    batch = pseudo_collate([
        dict(inputs=i, data_samples=s)
        for i, s in zip(packed['inputs'], packed['data_samples'])
    ])
    return branch_grad_share(model, batch)


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
            cells = [f'{measure(det, b, data, tmp)["share"]:.2f}x'
                     for b in bounds]
            print(f'| {DETECTORS[det]["name"]} | ' + ' | '.join(cells) + ' |')


if __name__ == '__main__':
    main()
