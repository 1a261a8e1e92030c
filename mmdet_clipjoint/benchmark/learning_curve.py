# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Learning curve of one benchmark run: validation mAP along training.

This is how the benchmark schedules are chosen: long enough that the stock
detector has reached its plateau. The command line is
``tools/analysis_tools/learning_curve.py``.
"""
import glob
import json
import os
import os.path as osp
import time
from typing import Optional

from .experiments import build_experiment_cfg
from .presets import (get_preset, prepare_benchmark_data, preset_pretrained,
                      preset_run_data, preset_run_kwargs)

__all__ = ['learning_curve', 'read_validation_curve']


def read_validation_curve(work_dir: str, interval: int, iters: int) -> list:
    """``[(iteration, bbox mAP, bbox mAP50), ...]`` from the last run's
    ``scalars.json`` under ``work_dir``.

    Validation records carry no iteration (their step is the epoch, 0 in an
    iteration-based loop): they come every ``interval`` iterations, the last
    one at ``iters``.
    """
    logs = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data',
                                     'scalars.json')))
    if not logs:
        raise FileNotFoundError(f'no vis_data/scalars.json under {work_dir}')
    curve = []
    with open(logs[-1]) as f:
        for line in f:
            rec = json.loads(line)
            if 'coco/bbox_mAP' in rec:
                step = min((len(curve) + 1) * interval, iters)
                curve.append((step, rec['coco/bbox_mAP'],
                              rec['coco/bbox_mAP_50']))
    return curve


def learning_curve(detector: str,
                   method: str,
                   preset_name: str,
                   setting: str = 'clean',
                   iters: Optional[int] = None,
                   val_interval: Optional[int] = None,
                   seed: int = 0,
                   pretrained: Optional[bool] = None,
                   pretrain_cache: Optional[str] = None,
                   out: str = 'outputs/learning_curve') -> dict:
    """Train one (detector, method, setting, seed) of the benchmark on the
    preset's data and initialisation, validating along the way.

    Args:
        detector / method / setting / seed: The run (as in the benchmark).
        preset_name: Data, batch size, stress and initialisation.
        iters: Iterations (default: twice the preset's schedule).
        val_interval: Iterations between validations (default iters / 6).
        pretrained: Start from the synthetic pre-training (default: as the
            preset says; trained first when missing from the cache).
        pretrain_cache: Cache of the pre-trained weights.
        out: Output directory; the curve is saved as ``<out>/<name>.json``.

    Returns:
        dict: ``name``, ``preset``, ``init``, ``seconds``, ``curve``
        (:func:`read_validation_curve`) and ``path`` (the saved JSON).
    """
    from mmengine.runner import Runner
    preset = get_preset(preset_name)
    use_pt = preset['pretrained'] if pretrained is None else pretrained
    iters = iters or 2 * preset['iters'][detector]
    interval = val_interval or max(1, iters // 6)
    data = prepare_benchmark_data(osp.join(out, f'data_{preset_name}'),
                                  preset)
    weights = preset_pretrained(preset, detector,
                                pretrain_cache) if use_pt else None
    name = (f'{preset_name}_{detector}_{method}_{setting}_s{seed}_{iters}it' +
            ('_scratch' if preset['pretrained'] and not use_pt else ''))
    cfg = build_experiment_cfg(
        detector, method, preset_run_data(preset, data, setting),
        osp.join(out, 'work_dirs', name), setting, seed,
        val_interval=interval,
        **preset_run_kwargs(preset, detector, iters, weights))
    t = time.time()
    Runner.from_cfg(cfg).train()
    res = dict(name=name, preset=preset_name,
               init=f'from {osp.basename(weights)}'
               if weights else 'from scratch',
               seconds=time.time() - t,
               curve=read_validation_curve(cfg.work_dir, interval, iters))
    path = osp.join(out, name + '.json')
    os.makedirs(out, exist_ok=True)
    with open(path, 'w') as f:
        json.dump(res, f, indent=1)
    return dict(res, path=path)
