# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Presets of the accuracy benchmark: data, schedule, seeds, stress and
initialisation.

Shared by ``tools/benchmark_accuracy.py`` and
``tools/analysis_tools/learning_curve.py``. A preset is a plain dict:

* ``num_train`` / ``num_val`` / ``img_size``: the synthetic benchmark set;
* ``dataset``: ``'A'`` (:data:`~mmdet_clipjoint.datasets.SYNTHETIC_CLASSES`),
  ``'B'`` (:data:`~mmdet_clipjoint.datasets.SYNTHETIC_CLASSES_B`) or
  ``'semantic'`` (COCO names drawn as emoji,
  :func:`~mmdet_clipjoint.datasets.make_semantic_dataset`; ``classes``
  default :data:`~.semantic.SEMANTIC_CLASSES`, ``size_range`` of the
  objects); ``data_seed``: its generator seed;
* ``text_init``: how the ClipJoint text bank starts (None: at random, or
  from open_clip with ``--clip-pretrained``; the semantic presets:
  ``dict(init_source='vocabulary', vocabulary='coco')``, the shipped CLIP
  rows);
* ``rare``: ``'neighbour'`` (semantic presets: the rare third is picked so
  that each rare class has a frequent CLIP neighbour,
  :func:`~.semantic.neighbour_rare_classes`) or None (``rare_seed`` /
  dataset order); ``rare_ratio``: with a generated long tail, the rare
  third gets ``1 / rare_ratio`` of a frequent class's frequency (a step
  profile) instead of the exponential profile;
* ``novel``: the classes without training boxes of the zero-shot runs
  (:mod:`~.zero_shot`);
* ``seeds``, ``settings`` (keys of
  :data:`~mmdet_clipjoint.benchmark.experiments.SETTINGS`), ``iters`` and
  ``batch`` per detector;
* ``noise_type``: ``'symmetric'`` or ``'pairwise'`` (class-dependent, along
  the vocabulary's confusable map);
* ``rare_seed``: None (the last classes are the tail of the long-tailed
  settings) or the seed of a random head-to-tail order of the classes;
* ``long_tail``: how the long-tailed settings get their training set:
  ``'subsample'`` (``LongTailDataset`` keeps a long-tailed subset of the
  clean images; with 1-3 objects per image that keeps ~15 % of the
  instances, and the head stays far below its target) or ``'generate'``
  (a second training set of as many images, generated with long-tailed
  class frequencies: as many instances as clean, ratio 50 from head to
  tail);
* ``pretrained``: start backbone + neck from the synthetic pre-training
  (:mod:`mmdet_clipjoint.benchmark.pretrain`); ``pretrain``: its parameter
  overrides per detector (None: the defaults).
"""
import copy
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np

from .experiments import SETTINGS
from ..utils.file_lock import exclusive_lock

__all__ = [
    'LR', 'PRESETS', 'get_preset', 'preset_classes', 'preset_class_order',
    'long_tail_weights', 'preset_run_data', 'preset_run_kwargs',
    'preset_pretrained', 'rare_classes', 'prepare_benchmark_data',
    'count_instances'
]

# Faster R-CNN: mmdet's linear scaling rule (0.02 at batch 16 -> 0.005 at
# batch 4); at 0.02 with batch 4 the ClipJoint run diverged (NaN by iter
# 28) while stock survived. RTMDet (AdamW) keeps its stock 0.004.
#: learning rate of the benchmark runs per detector
LR: Dict[str, float] = dict(frcnn=0.005, rtmdet=0.004, yolo11=0.01)

_DEFAULTS = dict(dataset='A', data_seed=1234, objects_per_image=[1, 3],
                 noise_type='symmetric', rare_seed=None,
                 long_tail='subsample', pretrained=False, pretrain=None,
                 classes=None, size_range=None, text_init=None, rare=None,
                 rare_ratio=None, methods=None, novel=None)

#: the pre-training of the cpu-pt presets (one thread, 128 px): Faster
#: R-CNN 400 iterations at batch 8 (462 s, source val mAP 24.4), RTMDet-tiny
#: 600 at batch 8 (234 s, source val mAP 4.2; its loss 2.07 -> 1.45).
_PT_CPU = dict(frcnn=dict(max_iters=400, batch_size=8, lr=0.01),
               rtmdet=dict(max_iters=600, batch_size=8, lr=0.004),
               yolo11=dict(max_iters=600, batch_size=8, lr=0.01))

#: what every semantic preset shares: the emoji world, the shipped CLIP
#: rows as the text bank's start, class-dependent noise between CLIP
#: neighbours, a generated step long tail whose rare third each has a
#: frequent CLIP neighbour, the emoji pre-training, and the arms that tell
#: the prior's effect from the branch's
_SEMANTIC = dict(
    dataset='semantic', data_seed=2026, objects_per_image=[1, 3],
    size_range=[0.25, 0.7], noise_type='pairwise', rare='neighbour',
    rare_ratio=25, long_tail='generate', pretrained=True,
    text_init=dict(init_source='vocabulary', vocabulary='coco'),
    # zero-shot (mmdet_clipjoint.benchmark.zero_shot): a quarter of the
    # classes lose their training boxes; each has a base CLIP neighbour
    novel=['bicycle', 'bus', 'sheep', 'carrot'],
    methods=['stock', 'normed', 'seesaw', 'clipjoint',
             'clipjoint-random-text', 'clipjoint-permuted',
             'clipjoint-frozen-text'])

#: the GPU preset's 30 classes: the CPU world's 15 and 15 more COCO
#: classes with a neighbour among them
_SEMANTIC_GPU_CLASSES = [
    'car', 'bus', 'bicycle', 'motorcycle', 'truck', 'airplane', 'train',
    'boat', 'dog', 'horse', 'cow', 'cat', 'sheep', 'elephant', 'bird',
    'zebra', 'giraffe', 'bear', 'apple', 'banana', 'pizza', 'orange',
    'carrot', 'broccoli', 'donut', 'cake', 'sandwich', 'hot dog', 'cup',
    'wine glass']

#: the tiny pre-training of the CI-sized presets
_PT_SMOKE = dict(
    frcnn=dict(num_train=16, num_val=8, max_iters=10, batch_size=4),
    rtmdet=dict(num_train=16, num_val=8, max_iters=10, batch_size=8),
    yolo11=dict(num_train=16, num_val=8, max_iters=10, batch_size=8))

#: name -> preset (keys not given take the defaults of :func:`get_preset`).
PRESETS: Dict[str, dict] = {
    # CI-sized: every method once, with a tiny pre-training so that the
    # pre-trained start is exercised too
    'smoke': dict(
        num_train=64, num_val=16, img_size=128, seeds=[0],
        settings=['clean', 'both'],
        iters=dict(frcnn=10, rtmdet=20, yolo11=20),
        batch=dict(frcnn=4, rtmdet=8, yolo11=8),
        pretrained=True,
        pretrain=_PT_SMOKE),
    # The from-scratch regime (docs/benchmark_accuracy.md), sized for 2 CPU
    # cores (72 runs, two workers of one thread each). Measured with 2
    # threads at 128 px: ~0.5 s per Faster R-CNN and ~0.3 s per RTMDet-tiny
    # iteration. The schedules sit where the stock detectors have left the
    # flat start of their learning curves (clean mAP 10.4 after 160 Faster
    # R-CNN iterations; RTMDet-tiny 0.8 / 9.7 / 17.9 after 150 / 300 / 600);
    # one stock seed differed from another by 7 mAP here.
    'cpu': dict(
        num_train=400, num_val=60, img_size=128, seeds=[0, 1, 2],
        settings=list(SETTINGS),
        iters=dict(frcnn=160, rtmdet=480, yolo11=480),
        batch=dict(frcnn=4, rtmdet=8, yolo11=8)),
    # Pre-trained start (backbone + neck from the synthetic source
    # pre-training), 3x the images of `cpu`, 5 seeds. The long-tailed
    # settings train on a generated long-tailed set of as many images
    # (2400 instances, head ~730, tail ~15): subsampling the 1200 clean
    # images kept only 355 instances (head 61, tail 4), 6.7x less data.
    # The schedules are placeholders until a learning curve
    # (tools/analysis_tools/learning_curve.py --preset cpu-pt) has located
    # stock's plateau.
    # Measured with one thread at 128 px: Faster R-CNN 0.64 s per
    # iteration at batch 4, RTMDet-tiny 0.35 s at batch 8; evaluating the
    # 200 val images (+ building the runner) ~30 s / ~17 s, done 3x for
    # ClipJoint runs (score modes). At 300 / 600 iterations the 120 runs
    # sum to ~8 CPU hours (~4 h wall with two one-thread workers).
    'cpu-pt': dict(
        num_train=1200, num_val=200, img_size=128, seeds=[0, 1, 2, 3, 4],
        settings=list(SETTINGS),
        iters=dict(frcnn=200, rtmdet=300, yolo11=300),
        batch=dict(frcnn=4, rtmdet=8, yolo11=8),
        long_tail='generate', pretrained=True, pretrain=_PT_CPU),
    # The same regime on benchmark B: another vocabulary and generator
    # seed, class-dependent (pairwise) noise along SYNTHETIC_CONFUSABLE_B
    # and a random set of rare classes.
    'cpu-pt-b': dict(
        num_train=1200, num_val=200, img_size=128, seeds=[0, 1, 2, 3, 4],
        settings=list(SETTINGS),
        iters=dict(frcnn=200, rtmdet=300, yolo11=300),
        batch=dict(frcnn=4, rtmdet=8, yolo11=8),
        dataset='B', data_seed=2027, noise_type='pairwise', rare_seed=7,
        long_tail='generate', pretrained=True, pretrain=_PT_CPU),
    'gpu': dict(
        num_train=3000, num_val=500, img_size=320, seeds=[0, 1, 2],
        settings=list(SETTINGS),
        iters=dict(frcnn=3000, rtmdet=6000, yolo11=6000),
        batch=dict(frcnn=8, rtmdet=32, yolo11=32)),
    # The semantic world (docs/benchmark_semantic.md): COCO names drawn as
    # emoji, the text bank from the shipped CLIP rows, the prior's control
    # arms. CI-sized first.
    'semantic-smoke': dict(
        _SEMANTIC, num_train=48, num_val=16, img_size=96, seeds=[0],
        settings=['clean', 'both'],
        iters=dict(frcnn=10, rtmdet=20, yolo11=20),
        batch=dict(frcnn=4, rtmdet=8, yolo11=8),
        pretrain=_PT_SMOKE),
    # 2 CPU cores: 15 classes at 128 px, rare third picked next to a
    # frequent CLIP neighbour, 1/25 of a frequent class's boxes. Learning
    # curve of stock RTMDet-tiny on clean data from the emoji pre-training
    # (tools/analysis_tools/learning_curve.py rtmdet stock --preset
    # semantic-cpu --iters 1200 --val-interval 200, one thread): mAP 1.3 /
    # 4.2 / 5.2 / 9.7 / 14.3 / 19.4 after 200 ... 1200 iterations, still
    # rising: 1200 is what the 2-core budget allows, not a plateau (the
    # GPU preset is for that). Faster R-CNN (learning_curve.py frcnn stock
    # --preset semantic-cpu --iters 900 --val-interval 150): 13.5 / 25.5 /
    # 31.2 / 36.8 / 36.3 / 38.4 after 150 ... 900, so 600 (its shoulder).
    # YOLO11-n (learning_curve.py yolo11 stock --preset semantic-cpu --iters
    # 1800 --val-interval 300, two threads, 192 s): 24.4 / 37.9 / 45.9 /
    # 52.8 / 55.9 / 56.9 after 300 ... 1800, so 1800 (+1.0 over the last
    # 300: near its plateau).
    'semantic-cpu': dict(
        _SEMANTIC, num_train=1200, num_val=200, img_size=128,
        seeds=[0, 1, 2, 3, 4], settings=list(SETTINGS),
        iters=dict(frcnn=600, rtmdet=1200, yolo11=1800),
        batch=dict(frcnn=4, rtmdet=8, yolo11=8), pretrain=_PT_CPU),
    # the confirmation split: a random rare set and another generator seed
    'semantic-cpu-b': dict(
        _SEMANTIC, num_train=1200, num_val=200, img_size=128,
        seeds=[0, 1, 2, 3, 4], settings=list(SETTINGS),
        iters=dict(frcnn=600, rtmdet=1200, yolo11=1800),
        batch=dict(frcnn=4, rtmdet=8, yolo11=8), pretrain=_PT_CPU,
        rare=None, rare_seed=7, data_seed=2027),
    # plateau-length runs for a GPU: 30 classes at 320 px
    'semantic-gpu': dict(
        _SEMANTIC, num_train=6000, num_val=600, img_size=320,
        classes=_SEMANTIC_GPU_CLASSES, seeds=[0, 1, 2, 3, 4],
        settings=list(SETTINGS),
        size_range=[0.12, 0.6],
        iters=dict(frcnn=6000, rtmdet=12000, yolo11=12000),
        batch=dict(frcnn=8, rtmdet=32, yolo11=32)),
}


def get_preset(name_or_preset) -> dict:
    """A deep copy of a preset (a name of :data:`PRESETS` or a dict) with
    every optional key filled in."""
    if isinstance(name_or_preset, str):
        if name_or_preset not in PRESETS:
            raise KeyError(f'unknown preset {name_or_preset!r}; choose from '
                           f'{list(PRESETS)}')
        name_or_preset = PRESETS[name_or_preset]
    preset = copy.deepcopy(_DEFAULTS)
    preset.update(copy.deepcopy(name_or_preset))
    if preset['dataset'] not in ('A', 'B', 'semantic'):
        raise ValueError(f'dataset={preset["dataset"]!r}: use A, B or '
                         'semantic')
    if preset['rare'] not in (None, 'neighbour'):
        raise ValueError(f'rare={preset["rare"]!r}: use None or neighbour')
    if preset['noise_type'] not in ('symmetric', 'pairwise'):
        raise ValueError(f'noise_type={preset["noise_type"]!r}: use '
                         'symmetric or pairwise')
    if preset['long_tail'] not in ('subsample', 'generate'):
        raise ValueError(f'long_tail={preset["long_tail"]!r}: use '
                         'subsample or generate')
    return preset


def preset_classes(preset: dict) -> tuple:
    """Class names of the preset's benchmark vocabulary."""
    from mmdet_clipjoint.datasets import SYNTHETIC_VOCABULARIES
    preset = get_preset(preset)
    if preset['dataset'] == 'semantic':
        from .semantic import SEMANTIC_CLASSES
        return tuple(preset['classes'] or SEMANTIC_CLASSES)
    return tuple(SYNTHETIC_VOCABULARIES[preset['dataset']])


def preset_class_order(preset: dict) -> Optional[List[str]]:
    """Head-to-tail class order of the long-tailed settings: None (dataset
    order) or a permutation seeded by ``rare_seed``."""
    preset = get_preset(preset)
    classes = preset_classes(preset)
    if preset['rare'] == 'neighbour':
        from .semantic import neighbour_rare_classes
        rare = neighbour_rare_classes(classes, max(1, len(classes) // 3))
        return [c for c in classes if c not in rare] + rare
    if preset['rare_seed'] is None:
        return None
    perm = np.random.default_rng(preset['rare_seed']).permutation(
        len(classes))
    return [classes[i] for i in perm]


def rare_classes(classes: Sequence[str],
                 class_order: Optional[Sequence[str]] = None) -> List[str]:
    """The rarest third under the long-tail profile: the last third of
    ``class_order`` (default: of ``classes``), in dataset order."""
    order = list(class_order) if class_order is not None else list(classes)
    n = max(1, len(order) // 3)
    rare = set(order[-n:])
    return [c for c in classes if c in rare]


def _imbalance_ratio() -> float:
    ratios = {st['imbalance_ratio'] for st in SETTINGS.values()
              if 'imbalance_ratio' in st}
    if len(ratios) != 1:
        raise ValueError('a generated long tail needs one imbalance ratio '
                         f'across the settings, not {sorted(ratios)}')
    return float(ratios.pop())


def long_tail_weights(preset: dict) -> List[float]:
    """Class frequencies (dataset order) of a generated long tail: class
    of rank r in :func:`preset_class_order` (0 = head) gets
    ``ratio ** (-r / (C - 1))``, the profile of ``LongTailDataset``, with
    the settings' imbalance ratio."""
    classes = preset_classes(preset)
    order = preset_class_order(preset) or list(classes)
    if get_preset(preset)['rare_ratio']:
        rare = set(rare_classes(classes, order))
        return [1.0 / get_preset(preset)['rare_ratio'] if c in rare else 1.0
                for c in classes]
    ratio, C = _imbalance_ratio(), len(classes)
    rank = {c: r for r, c in enumerate(order)}
    return [ratio**(-rank[c] / max(C - 1, 1)) for c in classes]


def preset_run_data(preset: dict, data: dict, setting: str) -> dict:
    """The data of one run: ``data`` itself, or, for a long-tailed setting
    of a ``long_tail='generate'`` preset, ``data`` with the generated
    long-tailed training split (the val split is shared)."""
    preset = get_preset(preset)
    if preset['long_tail'] == 'generate' and \
            'imbalance_ratio' in SETTINGS[setting]:
        return dict(data, **data['longtail'])
    return data


def _flip_map(preset: dict) -> Dict[str, str]:
    from mmdet_clipjoint.datasets import (SYNTHETIC_CONFUSABLE,
                                          SYNTHETIC_CONFUSABLE_B)
    if preset['dataset'] == 'semantic':
        # the confusions real annotators make: each class to its nearest
        # CLIP neighbour (car -> truck, cat -> dog, apple -> orange)
        from .semantic import nearest_neighbours
        return nearest_neighbours(preset_classes(preset))
    return dict(SYNTHETIC_CONFUSABLE if preset['dataset'] == 'A' else
                SYNTHETIC_CONFUSABLE_B)


def preset_run_kwargs(preset: dict,
                      detector: str,
                      max_iters: Optional[int] = None,
                      pretrained: Optional[str] = None) -> dict:
    """Keyword arguments of
    :func:`~mmdet_clipjoint.benchmark.experiments.build_experiment_cfg` for one
    run of the preset (image size, schedule, batch, lr, label stress,
    pre-trained start)."""
    preset = get_preset(preset)
    kw = dict(img_size=preset['img_size'],
              max_iters=max_iters or preset['iters'][detector],
              batch_size=preset['batch'][detector], lr=LR[detector],
              noise_type=preset['noise_type'],
              class_order=preset_class_order(preset),
              subsample_long_tail=preset['long_tail'] == 'subsample',
              pretrained=pretrained)
    if preset['noise_type'] == 'pairwise':
        kw['flip_map'] = _flip_map(preset)
    if preset['text_init']:
        kw['text_init'] = dict(preset['text_init'])
    return kw


def preset_pretrained(preset: dict,
                      detector: str,
                      cache_root: Optional[str] = None,
                      wait: bool = True) -> Optional[str]:
    """The preset's pre-trained backbone + neck for ``detector`` (trained
    and cached on the first call, see
    :func:`~mmdet_clipjoint.benchmark.pretrain.ensure_pretrained_trunk`, whose
    ``wait`` this passes on); the pre-training runs at the preset's image
    size."""
    from .pretrain import ensure_pretrained_trunk
    preset = get_preset(preset)
    overrides = dict(img_size=preset['img_size'])
    if preset['dataset'] == 'semantic':
        overrides['world'] = 'emoji'
    overrides.update((preset['pretrain'] or {}).get(detector, {}))
    return ensure_pretrained_trunk(detector, cache_root, wait=wait,
                                   **overrides)


def prepare_benchmark_data(data_dir: str, preset: dict) -> dict:
    """Generate the preset's benchmark data once under ``data_dir``.

    Later calls (and other workers) with the same parameters reuse it, so
    no image is rewritten while a run reads it; concurrent first calls
    wait for the one that generates (lock file). The parameters are
    stamped in ``data_dir/dataset.json``. A ``long_tail='generate'``
    preset also gets a long-tailed training split of as many images
    (:func:`long_tail_weights`, another generator seed) under
    ``data_dir/longtail``.

    Returns:
        dict: The output of
        :func:`~mmdet_clipjoint.datasets.make_synthetic_dataset` (as read
        back from JSON); with a generated long tail, ``longtail`` holds
        its ``train_ann_file`` / ``train_img_prefix`` (relative to the
        same ``data_root``, see :func:`preset_run_data`).
    """
    from mmdet_clipjoint import datasets
    preset = get_preset(preset)
    params = dict(num_train=preset['num_train'], num_val=preset['num_val'],
                  img_size=preset['img_size'],
                  objects_per_image=list(preset['objects_per_image']),
                  seed=preset['data_seed'])
    if preset['dataset'] != 'A':  # A's stamps predate the vocabularies
        params['classes'] = list(preset_classes(preset))
    semantic = preset['dataset'] == 'semantic'
    if semantic:
        params.update(world='emoji', size_range=list(preset['size_range']),
                      generator=datasets.SEMANTIC_GENERATOR_VERSION)
    if preset['long_tail'] == 'generate':
        params['long_tail'] = [round(w, 6) for w in long_tail_weights(preset)]
    stamp = osp.join(data_dir, 'dataset.json')

    def cached():
        if osp.isfile(stamp):
            with open(stamp) as f:
                saved = json.load(f)
            if saved['params'] == params:
                # where the data is now (the stamp may come from another
                # working directory, or the folder was moved / linked)
                return dict(saved['data'], data_root=data_dir)
        return None

    def with_rows(data):
        # a cache written before a rows kind existed gets the missing files
        # (cheap, deterministic); the images are not touched
        from .semantic import TEXT_ROWS, write_text_rows
        if not semantic or set(data.get('text_rows') or {}) >= set(
                TEXT_ROWS):
            return data
        with exclusive_lock(osp.join(data_dir, 'dataset.lock')):
            data = cached()
            data['text_rows'] = {
                k: osp.relpath(v, data_dir) for k, v in write_text_rows(
                    data_dir, preset_classes(preset)).items()
            }
            with open(stamp + '.tmp', 'w') as f:
                json.dump(dict(params=params, data=data), f, indent=1)
            os.replace(stamp + '.tmp', stamp)
        print(f'[data] wrote the text rows {sorted(data["text_rows"])} '
              f'into {data_dir}')
        return data

    data = cached()
    if data is not None:
        print(f'[data] reusing the synthetic dataset in {data_dir}')
        return with_rows(data)
    os.makedirs(data_dir, exist_ok=True)
    with exclusive_lock(osp.join(data_dir, 'dataset.lock')):
        data = cached()
        if data is not None:
            return data
        print(f'[data] synthetic dataset in {data_dir}', flush=True)
        size = (params['img_size'], params['img_size'])
        common = dict(objects_per_image=tuple(params['objects_per_image']),
                      classes=preset_classes(preset))
        if semantic:
            common['size_range'] = tuple(params['size_range'])

        def make(out_dir, num_train, num_val, **kw):
            if semantic:
                return datasets.make_semantic_dataset(
                    out_dir, num_train=num_train, num_val=num_val,
                    img_size=size, **common, **kw)
            return datasets.make_synthetic_dataset(out_dir, num_train,
                                                   num_val, size, **common,
                                                   **kw)

        data = make(data_dir, params['num_train'], params['num_val'],
                    seed=params['seed'])
        if 'long_tail' in params:
            lt = make(osp.join(data_dir, 'longtail'), params['num_train'], 0,
                      seed=params['seed'] + 1,
                      class_weights=params['long_tail'])
            data['longtail'] = {
                k: osp.join('longtail', lt[k])
                for k in ('train_ann_file', 'train_img_prefix')
            }
        if semantic:
            # the control / remedy banks' rows (permuted, centred)
            from .semantic import write_text_rows
            data['text_rows'] = {
                k: osp.relpath(v, data_dir) for k, v in write_text_rows(
                    data_dir, preset_classes(preset)).items()
            }
        data = json.loads(json.dumps(data))  # as a later call reads it back
        with open(stamp + '.tmp', 'w') as f:
            json.dump(dict(params=params, data=data), f, indent=1)
        os.replace(stamp + '.tmp', stamp)
    return data


def count_instances(data: dict, split: str = 'train') -> List[int]:
    """Per-class instance counts of a generated split (dataset order)."""
    with open(osp.join(data['data_root'], data[f'{split}_ann_file'])) as f:
        coco = json.load(f)
    ids = [c['id'] for c in coco['categories']]
    counts = [0] * len(ids)
    for ann in coco['annotations']:
        counts[ids.index(ann['category_id'])] += 1
    return counts
