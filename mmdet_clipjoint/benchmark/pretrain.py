# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""A pre-trained start for the synthetic benchmarks.

Users start detectors from ImageNet / COCO weights, not from random ones. The
synthetic analogue: one *stock* training run per detector on a large
synthetic *source* set whose classes
(:data:`~mmdet_clipjoint.datasets.SYNTHETIC_SOURCE_CLASSES`: hexagons, stars,
crosses) are disjoint from the benchmark vocabularies. Its backbone + neck
weights are cached on disk and initialise every method of the benchmark
(``build_experiment_cfg(..., pretrained=path)``).

Cache layout (``cache_root`` defaults to :func:`default_pretrain_cache`,
i.e. ``$MMDET_CLIPJOINT_PRETRAIN_CACHE`` or
``~/.cache/mmdet_clipjoint/pretrain``)::

    <cache_root>/<detector>_<hash>.pth    {'state_dict': backbone.* / neck.*}
    <cache_root>/<detector>_<hash>.json   stamp: params, source val mAP, ...
    <cache_root>/data/source_<hash>/      the generated source dataset
    <cache_root>/work_dirs/<detector>_<hash>/   logs of the pre-training

``<hash>`` is a digest of every parameter of the pre-training (data,
schedule, seed, base config, recipe version), so other parameters give
another file, and a missing file is regenerated deterministically from its
parameters. The weights file holds plain tensors only (loadable with
``torch.load(..., weights_only=True)``) and is written atomically
(temporary file + ``os.replace``); the stamp is written last, and a file
counts as cached only with a stamp of the same parameters.
"""
import copy
import glob
import hashlib
import json
import os
import os.path as osp
import time
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from ..utils.checkpoint_files import (atomic_write_json,
                                       remove_checkpoints)
from ..utils.file_lock import LockTimeout, exclusive_lock

__all__ = [
    'PRETRAIN_DEFAULTS', 'PRETRAIN_VERSION', 'default_pretrain_cache',
    'pretrain_params', 'pretrain_cache_path', 'load_pretrain_stamp',
    'extract_trunk_state_dict', 'ensure_pretrained_trunk'
]

#: bump when the pre-training recipe changes in a way the parameters miss
PRETRAIN_VERSION = 1

#: detector -> default pre-training parameters (see :func:`pretrain_params`).
#: Schedules: warm-up over the first quarter, lr x 0.1 at 75 %; Faster R-CNN
#: at mmdet's linear-scaling lr for batch 8, RTMDet at the benchmark's.
#: Measured at 128 px with one CPU thread (2026-11-30, 2-core machine):
#: Faster R-CNN 1.15 s and RTMDet-tiny 0.35 s per iteration at batch 8, and
#: ~20 s to evaluate the 200 source val images. Shorter trial schedules:
#: Faster R-CNN 200 iterations -> source val mAP 14.5, loss by tenths 1.60
#: -> 0.88; RTMDet-tiny 600 iterations -> mAP 4.2, loss 2.07 -> 1.45 (still
#: early on its curve). The defaults (~12 and ~9 min) extend those.
PRETRAIN_DEFAULTS: Dict[str, dict] = dict(
    frcnn=dict(num_train=2000, num_val=200, img_size=128, max_iters=600,
               batch_size=8, lr=0.01),
    rtmdet=dict(num_train=2000, num_val=200, img_size=128, max_iters=1500,
                batch_size=8, lr=0.004),
    yolo11=dict(num_train=2000, num_val=200, img_size=128, max_iters=1500,
                batch_size=8, lr=0.01),
)


#: object sizes of the emoji source set (fractions of the short side)
_EMOJI_SIZE_RANGE = (0.25, 0.7)


def default_pretrain_cache() -> str:
    """``$MMDET_CLIPJOINT_PRETRAIN_CACHE`` or
    ``~/.cache/mmdet_clipjoint/pretrain``."""
    return os.environ.get(
        'MMDET_CLIPJOINT_PRETRAIN_CACHE',
        osp.join(osp.expanduser('~'), '.cache', 'mmdet_clipjoint',
                 'pretrain'))


def pretrain_params(detector: str, **overrides) -> dict:
    """Every parameter of one pre-training (what the cache key digests).

    Args:
        detector: Key of :data:`~mmdet_clipjoint.benchmark.experiments.DETECTORS`.
        **overrides: Any of ``num_train``, ``num_val``, ``img_size``,
            ``max_iters``, ``batch_size``, ``lr`` (default:
            :data:`PRETRAIN_DEFAULTS`), ``classes`` (default:
            :data:`~mmdet_clipjoint.datasets.SYNTHETIC_SOURCE_CLASSES`),
            ``objects_per_image`` (``(1, 3)``), ``texture`` (``'stripes'``),
            ``data_seed`` (4321, the source images), ``seed`` (0, the
            training) and ``world``: ``'shapes'`` (default, the coloured
            shapes) or ``'emoji'`` (LVIS names drawn as emoji,
            :data:`~mmdet_clipjoint.datasets.SOURCE_EMOJI`, for the semantic
            benchmark).

    Returns:
        dict: JSON-serialisable parameters, including the detector's base
        config and :data:`PRETRAIN_VERSION`.
    """
    from mmdet_clipjoint.datasets import SYNTHETIC_SOURCE_CLASSES
    from .experiments import DETECTORS
    if detector not in PRETRAIN_DEFAULTS:
        raise ValueError(f'no pre-training for detector {detector!r}; '
                         f'choose from {list(PRETRAIN_DEFAULTS)}')
    params = dict(PRETRAIN_DEFAULTS[detector])
    params.update(classes=list(SYNTHETIC_SOURCE_CLASSES),
                  objects_per_image=[1, 3], texture='stripes',
                  data_seed=4321, seed=0)
    world = overrides.pop('world', 'shapes')
    if world == 'emoji':
        # the semantic world's source set: LVIS names drawn as emoji
        from mmdet_clipjoint.datasets import (SEMANTIC_GENERATOR_VERSION,
                                              SOURCE_EMOJI)
        params.update(world=world, classes=list(SOURCE_EMOJI),
                      size_range=list(_EMOJI_SIZE_RANGE),
                      generator=SEMANTIC_GENERATOR_VERSION)
        del params['texture']
    elif world != 'shapes':
        raise ValueError(f"world={world!r}: use 'shapes' or 'emoji'")
    unknown = set(overrides) - set(params)
    if unknown:
        raise TypeError(f'unknown pre-training parameters {sorted(unknown)}; '
                        f'known: {sorted(params)}')
    params.update(overrides)
    params['classes'] = list(params['classes'])
    params['objects_per_image'] = list(params['objects_per_image'])
    if 'size_range' in params:
        params['size_range'] = list(params['size_range'])
    params.update(detector=detector, config=DETECTORS[detector]['stock'],
                  version=PRETRAIN_VERSION)
    return params


def _digest(obj) -> str:
    return hashlib.sha1(json.dumps(obj, sort_keys=True).encode()).hexdigest(
    )[:12]


def pretrain_cache_path(params: dict, cache_root: Optional[str] = None) -> str:
    """``<cache_root>/<detector>_<hash of params>.pth`` (absolute)."""
    root = osp.abspath(cache_root or default_pretrain_cache())
    return osp.join(root, f'{params["detector"]}_{_digest(params)}.pth')


def load_pretrain_stamp(path: str) -> Optional[dict]:
    """The stamp (``.json`` beside the weights) or None when missing."""
    stamp = osp.splitext(path)[0] + '.json'
    if not osp.isfile(stamp) or not osp.isfile(path):
        return None
    with open(stamp) as f:
        return json.load(f)


def extract_trunk_state_dict(
        model: torch.nn.Module,
        prefixes: Sequence[str] = ('backbone.', 'neck.')
) -> Dict[str, torch.Tensor]:
    """The weights and buffers of ``model`` under ``prefixes`` (detached
    CPU copies; a model wrapper's ``module`` is unwrapped)."""
    model = getattr(model, 'module', model)
    return {
        k: v.detach().cpu().clone()
        for k, v in model.state_dict().items()
        if k.startswith(tuple(prefixes))
    }


def _source_data(root: str, params: dict) -> dict:
    """Generate (once) the source dataset of ``params``."""
    from mmdet_clipjoint.datasets import (make_semantic_dataset,
                                          make_synthetic_dataset)
    keys = ('num_train', 'num_val', 'img_size', 'classes',
            'objects_per_image', 'texture', 'data_seed', 'world',
            'size_range', 'generator')
    dparams = {k: params[k] for k in keys if k in params}
    data_dir = osp.join(root, 'data', f'source_{_digest(dparams)}')
    stamp = osp.join(data_dir, 'dataset.json')
    if osp.isfile(stamp):
        with open(stamp) as f:
            saved = json.load(f)
        if saved['params'] == dparams:
            return saved['data']
    size = (dparams['img_size'], dparams['img_size'])
    if dparams.get('world') == 'emoji':
        data = make_semantic_dataset(
            data_dir, dparams['classes'], dparams['num_train'],
            dparams['num_val'], size,
            objects_per_image=tuple(dparams['objects_per_image']),
            size_range=tuple(dparams['size_range']),
            seed=dparams['data_seed'])
    else:
        data = make_synthetic_dataset(
            data_dir, dparams['num_train'], dparams['num_val'], size,
            objects_per_image=tuple(dparams['objects_per_image']),
            classes=dparams['classes'], texture=dparams['texture'],
            seed=dparams['data_seed'])
    data = json.loads(json.dumps(data))
    atomic_write_json(stamp, dict(params=dparams, data=data))
    return data


def _loss_curve(work_dir: str, points: int = 10) -> List[float]:
    """Mean logged training loss over each of ``points`` equal stretches of
    the logged iterations (empty without logs)."""
    logs = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data',
                                     'scalars.json')))
    losses = []
    if logs:
        with open(logs[-1]) as f:
            for line in f:
                rec = json.loads(line)
                if 'loss' in rec:
                    losses.append(float(rec['loss']))
    if not losses:
        return []
    chunks = np.array_split(np.asarray(losses), min(points, len(losses)))
    return [round(float(c.mean()), 4) for c in chunks]


def _train(detector: str, params: dict, data: dict,
           work_dir: str) -> Tuple[Dict[str, torch.Tensor], dict]:
    """Run the stock pre-training; returns the trunk weights and a record
    (source val metrics, seconds, loss curve)."""
    from mmengine.runner import Runner
    from .experiments import build_experiment_cfg, evaluate
    iters = params['max_iters']
    cfg = build_experiment_cfg(
        detector, 'stock', data, work_dir, 'clean', seed=params['seed'],
        img_size=params['img_size'], max_iters=iters,
        batch_size=params['batch_size'], lr=params['lr'])
    cfg.param_scheduler.append(
        dict(type='MultiStepLR', by_epoch=False, begin=0, end=iters,
             milestones=[max(1, int(0.75 * iters))], gamma=0.1))
    cfg.default_hooks.logger.interval = max(1, min(20, iters // 20))
    t = time.time()
    from ..engine.hooks.progress_bar_hook import ProgressBarHook
    from ..utils.console import console_to_file
    with console_to_file(osp.join(work_dir, 'console.log')) as console:
        runner = Runner.from_cfg(copy.deepcopy(cfg))
        runner.register_hook(
            ProgressBarHook(f'pre-training {detector}', stream=console))
        runner.train()
        metrics = evaluate(runner)  # the EMA weights, as trained
    seconds = time.time() - t
    state = extract_trunk_state_dict(runner.model)
    remove_checkpoints(work_dir)  # keep the logs only
    rec = dict(
        val_mAP=metrics.get('coco/bbox_mAP', 0.0),
        val_mAP50=metrics.get('coco/bbox_mAP_50', 0.0),
        loss_curve=_loss_curve(work_dir), seconds=seconds,
        torch_threads=torch.get_num_threads())
    return state, rec


def ensure_pretrained_trunk(detector: str,
                            cache_root: Optional[str] = None,
                            wait: bool = True,
                            **params) -> Optional[str]:
    """Path of the cached pre-trained backbone + neck; trains it if missing.

    The first call trains the stock ``detector`` on the synthetic source set
    (generated under ``cache_root`` when missing), evaluates it on the
    source set's held-out val split, and writes the weights under the
    ``backbone.`` / ``neck.`` keys (``{'state_dict': {...}}``, tensors
    only) plus a JSON stamp (parameters, source val mAP / mAP50, the
    training loss by tenths of the schedule, seconds). Later calls with the
    same parameters return the cached file without training; concurrent
    callers wait for the one that trains (lock file).

    Args:
        detector: ``frcnn`` or ``rtmdet``.
        cache_root: Cache directory (default:
            :func:`default_pretrain_cache`,
            ``~/.cache/mmdet_clipjoint/pretrain``).
        wait: While another process trains the same file, wait for it
            (default); False returns None instead (a worker can train
            another detector meanwhile).
        **params: Overrides of :func:`pretrain_params`.

    Returns:
        str | None: Absolute path of the ``.pth`` file, for
        ``build_experiment_cfg(..., pretrained=path)``; None only with
        ``wait=False`` while another process trains it.
    """
    params = pretrain_params(detector, **params)
    path = pretrain_cache_path(params, cache_root)
    root = osp.dirname(path)
    stamp = load_pretrain_stamp(path)
    if stamp is not None and stamp.get('params') == params:
        return path
    os.makedirs(root, exist_ok=True)
    try:
        with exclusive_lock(path + '.lock', timeout=None if wait else 0):
            _pretrain_locked(detector, params, path)
    except LockTimeout:
        return None
    return path


def _pretrain_locked(detector: str, params: dict, path: str) -> None:
    """Train and write ``path`` unless another process did meanwhile (the
    caller holds the lock)."""
    stamp = load_pretrain_stamp(path)
    if stamp is not None and stamp.get('params') == params:
        return
    root = osp.dirname(path)
    name = osp.splitext(osp.basename(path))[0]
    print(f'[pretrain] {detector}: {params["max_iters"]} iterations on '
          f'{params["num_train"]} synthetic source images '
          f'({len(params["classes"])} classes) -> {path}', flush=True)
    data = _source_data(root, params)
    state, rec = _train(detector, params, data,
                        osp.join(root, 'work_dirs', name))
    # weights first, the stamp last: a file counts only with its stamp
    torch.save(dict(state_dict=state), path + '.tmp')
    os.replace(path + '.tmp', path)
    stamp_path = osp.splitext(path)[0] + '.json'
    with open(stamp_path + '.tmp', 'w') as f:
        json.dump(dict(params=params, file=osp.basename(path),
                       num_tensors=len(state), **rec), f, indent=1)
    os.replace(stamp_path + '.tmp', stamp_path)
    print(f'[pretrain] {detector}: source val mAP '
          f'{100 * rec["val_mAP"]:.1f} after {rec.get("seconds", 0):.0f} s; '
          f'training loss by tenths: {rec.get("loss_curve")}', flush=True)
