# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Speed and memory of ClipJoint next to its stock twin, in one process.

For each detector (:data:`~.speed_detectors.SPEED_DETECTORS`) it builds the
ClipJoint model once per score mode (det / clip / fuse) and the stock
detector, all carrying the *same* weights: the ClipJoint state dict is
loaded into the stock model with ``strict=False`` and only
ClipJoint-specific keys may be left over. It then measures, interleaved
(:mod:`.timing`: the order of the models rotates every repetition, so
machine noise hits all alike):

* inference latency per image (``model.test_step``: pre-processing,
  forward, post-processing and NMS) at each batch size;
* the training step time (``model.train_step``: forward, backward and the
  config's optimizer step; learning rate 0 so that the weights -- and hence
  every model's workload -- stay identical across repetitions);
* peak memory of one call: on CUDA ``max_memory_allocated`` minus what was
  allocated before the call; on CPU the increase of the peak RSS
  (``VmHWM``) during the call (after ``malloc_trim``), i.e. the
  activations and workspace, not the weights;
* parameters and FLOPs (``torch.utils.flop_counter`` on the same inference
  call: convolutions and matrix products, 2 FLOPs per multiply-add;
  RoIAlign, NMS and element-wise ops are not counted);
* optionally a per-op diff (torch.profiler) of stock vs ClipJoint and the
  one-off text-bank initialisation (CLIP text encoder with random weights,
  C classes x T prompt templates, and the file-cache path).

It reports medians with the inter-quartile range and min-max, and the ratio
ClipJoint / stock as the median of the per-repetition ratios (each ratio
taken from the same repetition), from wall-clock and from process CPU time;
``aa`` times the stock model twice per repetition, whose ratio is the noise
floor of the machine. Inputs are fixed random images; text banks use
``init_source='random'`` (no CLIP weights offline). The entry point is
:func:`run_speed_benchmark` (presets: :data:`~.speed_detectors.
SPEED_PRESETS`), the report :mod:`.speed_report`, the command line
``tools/benchmark_speed.py`` (which says what each option means).
"""
import copy
import gc
import json
import math
import os
import os.path as osp
import re
import tempfile
import time
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np
import torch

from ..utils.config_dicts import iter_config_dicts
from ..utils.config_files import config_file
from ..utils.small_config import drop_batch_resize, small_roi_budgets
from .speed_detectors import (SCORE_MODES, SPEED_DEFAULTS, SPEED_DETECTORS,
                              SPEED_PRESETS)
from .speed_report import environment, markdown, ratios_line
from .timing import (count_flops, interleaved, num_params, peak_memory,
                     profile_diff, timing_entry)

__all__ = [
    'speed_settings', 'load_cfg', 'prepare_model_cfg', 'check_shared_keys',
    'build_pair', 'make_batch', 'build_optim_wrapper',
    'calibrate_kept_fraction', 'bench_detector', 'bench_text_bank',
    'run_speed_benchmark'
]

#: substrings that mark a state-dict key as ClipJoint-only (the branch)
CLIPJOINT_KEY_PATTERNS = ('text_bank', 'proj', 'contrast', 'embed', 'clip')


def speed_settings(preset_name: str = 'full', device: str = 'cpu',
                   **options) -> dict:
    """The settings of a run: the preset's, overridden by ``options``.

    Args:
        preset_name (str): Key of :data:`~.speed_detectors.SPEED_PRESETS`.
        device (str): ``cpu`` or ``cuda[:i]``.
        **options: Any key of the presets or of
            :data:`~.speed_detectors.SPEED_DEFAULTS` (the options of
            ``tools/benchmark_speed.py`` say what each means); None keeps
            the preset's (default's) value.

    Returns:
        dict: Every setting, ``preset`` and ``device`` included.

    Raises:
        ValueError: An unknown preset or option, an unusable device or
            contradicting options.
    """
    if preset_name not in SPEED_PRESETS:
        raise ValueError(f'unknown speed preset {preset_name!r}; choose from '
                         f'{list(SPEED_PRESETS)}')
    settings = dict(SPEED_DEFAULTS, **SPEED_PRESETS[preset_name])
    unknown = sorted(set(options) - set(settings))
    if unknown:
        raise ValueError(f'unknown speed benchmark options {unknown}; '
                         f'choose from {sorted(settings)}')
    settings.update({k: v for k, v in options.items() if v is not None})
    settings.update(preset=preset_name, quick=preset_name == 'quick',
                    device=device, modes=list(settings['modes']))
    bad = [m for m in settings['modes'] if m not in SCORE_MODES]
    if bad or not settings['modes']:
        raise ValueError(f'modes {settings["modes"]}: choose from '
                         f'{SCORE_MODES}')
    if device.startswith('cuda') and not torch.cuda.is_available():
        raise ValueError(f'device {device!r} but CUDA is not available')
    kf = settings['kept_fraction']
    if kf is not None and not 0 < kf <= 1:
        raise ValueError(f'kept_fraction {kf} must be in (0, 1]')
    if kf is not None and settings['dense_fuse']:
        raise ValueError(
            'kept_fraction sets how many locations the sparse scoring '
            'embeds; dense_fuse embeds all of them: use one')
    return settings


def load_cfg(path: str, tmp_dir: str):
    """Load a config file; ``mmdet::`` paths through a one-line child."""
    from mmengine.config import Config
    if '::' not in path:
        return Config.fromfile(config_file(path))
    child = osp.join(tmp_dir, re.sub(r'\W', '_', path) + '.py')
    with open(child, 'w') as f:
        f.write(f"_base_ = '{path}'\n")
    return Config.fromfile(child)


def prepare_model_cfg(cfg, light_backbone: bool,
                      score_mode: Optional[str] = None,
                      small_rois: bool = False) -> dict:
    """The model config, made buildable offline and identical in shape.

    * no pretrained backbone download (``init_cfg=None``);
    * optionally ResNet-50 -> ResNet-18 and the RoI budgets of the
      project's CPU tests (RPN: 200 pre-NMS / 100 proposals, 64 sampled
      RoIs per image), the same for the stock model and its twin;
    * text banks: ``init_source='random'``, no cache;
    * no ``BatchSyncRandomResize`` (YOLOX: fixed input size);
    * ``score_mode`` set on every ClipJoint head that has one.
    """
    model = copy.deepcopy(cfg.model)
    backbone = model.get('backbone', {})
    backbone['init_cfg'] = None
    if light_backbone and backbone.get('type') == 'ResNet' and \
            backbone.get('depth', 18) > 18:
        backbone.update(depth=18)
        if model.get('neck', {}).get('type') == 'FPN':
            model.neck['in_channels'] = [64, 128, 256, 512]
    if small_rois:
        small_roi_budgets(model)
    # YOLOX's multi-scale batch resize: timed at the fixed --img-size
    # instead, for the stock model and its twin alike
    drop_batch_resize(model)
    found = []

    def fix(d):
        if d.get('type') == 'ContrastiveTextBank':
            d.update(init_source='random', cache_dir=None)
        if score_mode is not None and 'score_mode' in d:
            d['score_mode'] = score_mode
            found.append(d.get('type'))

    for d in iter_config_dicts(model):
        fix(d)
    if score_mode is not None and not found:
        raise ValueError('No head with a `score_mode` in the ClipJoint '
                         'config: cannot benchmark the score modes.')
    return model


def check_shared_keys(missing: Sequence[str],
                      unexpected: Sequence[str]) -> None:
    """The stock model must receive every weight; only ClipJoint-specific
    keys may be left over."""
    if missing:
        raise AssertionError(
            f'The stock model lacks {len(missing)} weights in the ClipJoint '
            f'state dict (first: {list(missing)[:5]}): backbone/neck/head '
            'are not identical.')
    foreign = [k for k in unexpected
               if not any(p in k for p in CLIPJOINT_KEY_PATTERNS)]
    if foreign:
        raise AssertionError(
            'ClipJoint state-dict keys unknown to the stock model that do '
            f'not look ClipJoint-specific: {foreign[:5]}')
    if not unexpected:
        raise AssertionError('The ClipJoint model has no extra weights: is '
                             'its config the ClipJoint one?')


def build_pair(spec: dict, light_backbone: bool, device: str, tmp_dir: str,
               modes: Sequence[str] = SCORE_MODES,
               small_rois: bool = False) -> dict:
    """Build stock + one ClipJoint model per score mode, same weights.

    Returns:
        dict: ``models`` ({'stock', 'det', 'clip', 'fuse'} -> model in eval
        mode), ``cfg_stock`` / ``cfg_clipjoint`` (full configs), and
        ``extra_keys`` (the ClipJoint-only state-dict keys).
    """
    from mmdet.registry import MODELS
    cfg_cj = load_cfg(spec['clipjoint'], tmp_dir)
    cfg_st = load_cfg(spec['stock'], tmp_dir)
    torch.manual_seed(0)
    first = MODELS.build(prepare_model_cfg(cfg_cj, light_backbone,
                                           modes[0], small_rois))
    first.init_weights()
    state = first.state_dict()
    models = {modes[0]: first}
    for mode in modes[1:]:
        m = MODELS.build(
            prepare_model_cfg(cfg_cj, light_backbone, mode, small_rois))
        m.load_state_dict(state, strict=True)
        models[mode] = m
    stock = MODELS.build(
        prepare_model_cfg(cfg_st, light_backbone, None, small_rois))
    missing, unexpected = stock.load_state_dict(state, strict=False)
    check_shared_keys(missing, unexpected)
    out = dict(stock=stock)
    out.update(models)
    for m in out.values():
        m.to(device).eval()
    return dict(models=out, cfg_stock=cfg_st, cfg_clipjoint=cfg_cj,
                extra_keys=sorted(unexpected))


def make_batch(batch: int, img_size: int, seed: int = 0) -> dict:
    """A fixed random batch (uint8 images, 3 random boxes each)."""
    from mmdet.testing import demo_mm_inputs
    torch.manual_seed(seed)
    np.random.seed(seed)
    return demo_mm_inputs(batch_size=batch,
                          image_shapes=[(3, img_size, img_size)] * batch,
                          num_items=[3] * batch, num_classes=80)


def build_optim_wrapper(model, cfg):
    """The config's optimizer with lr 0 (identical work, no drift)."""
    from mmengine.optim import build_optim_wrapper as _build
    ow = copy.deepcopy(cfg.optim_wrapper)
    if ow.get('type') == 'AmpOptimWrapper':
        ow['type'] = 'OptimWrapper'
        ow.pop('loss_scale', None)
    ow.pop('clip_grad', None)
    ow.optimizer['lr'] = 0.0
    return _build(model, ow)


def _same_predictions(a, b) -> bool:
    for x, y in zip(a, b):
        p, q = x.pred_instances, y.pred_instances
        if p.bboxes.shape != q.bboxes.shape or not torch.equal(
                p.labels, q.labels):
            return False
        if not (torch.allclose(p.bboxes, q.bboxes, atol=1e-4)
                and torch.allclose(p.scores, q.scores, atol=1e-5)):
            return False
    return True


def _score_biases(head) -> List[str]:
    """Names of a one-stage head's last classifier (and objectness) conv
    biases: convolutions with a bias and C or 1 outputs, outside the
    ClipJoint branch (normalisation layers, also C wide in YOLO11's class
    branch, are not touched)."""
    C = head.num_classes
    return [
        n + '.bias' for n, m in head.named_modules()
        if isinstance(m, torch.nn.Conv2d) and m.bias is not None
        and m.out_channels in (C, 1)
        and not n.startswith('branch.')
    ]


@torch.no_grad()
def calibrate_kept_fraction(models: Dict[str, torch.nn.Module], data: dict,
                            fraction: float) -> Optional[dict]:
    """Shift the classifier biases of one-stage heads so that ``fraction``
    of the locations can reach the test ``score_thr``.

    How many locations the exact sparse scoring embeds depends on the
    detector's scores: with random weights (prior-probability bias) none
    pass the threshold, with every location passing it is the dense
    computation. A trained detector sits in between; this sets the
    fraction explicitly. The same shift ``delta`` goes into every model
    (stock and ClipJoint keep identical weights), found by bisection on
    the bound ``max_c p_det(c)`` (x objectness for YOLOX) over ``data``;
    the weights of those layers are first redrawn at PyTorch's default
    scale (also the same in every model), so that locations differ.

    Returns:
        dict | None: ``delta``, the measured ``fraction`` and the number of
        ``locations``; None for a detector without a dense ClipJoint head.
    """
    ref = next((m for k, m in models.items() if k != 'stock'), None)
    head = getattr(ref, 'bbox_head', None)
    if not hasattr(head, 'fuse_mlvl_scores'):
        return None
    names = _score_biases(head)
    # a freshly initialised classifier (N(0, 0.01) weights) scores every
    # location alike, and no bias shift could then select a fraction: the
    # layers get weights of PyTorch's default scale (the same in every model)
    g = torch.Generator().manual_seed(0)
    params = dict(head.named_parameters())
    spread = {}
    for n in names:
        w = params[n[:-len('bias')] + 'weight']
        fan_in = w[0].numel()
        spread[n] = torch.randn(w.shape, generator=g) / math.sqrt(fan_in)
    for m in models.values():
        mp = dict(m.bbox_head.named_parameters())
        for n, w in spread.items():
            mp[n[:-len('bias')] + 'weight'].copy_(w)
    batch = ref.data_preprocessor(copy.deepcopy(data), False)
    feats = ref.extract_feat(batch['inputs'])
    has_obj = any(n.count('obj') for n in names)

    def logits():
        outs = head.forward(feats)
        cls = head.flatten_levels(outs[0]).max(-1)[0]
        return cls, head.flatten_levels(outs[2])[..., 0] if has_obj \
            else None

    cls, obj = logits()
    thr = float(head.test_cfg.get('score_thr', 0.0))

    def kept(delta: float, cls=cls, obj=obj) -> float:
        bound = (cls + delta).sigmoid()
        if obj is not None:
            bound = bound * (obj + delta).sigmoid()
        return float((bound >= thr).float().mean())

    lo, hi = -30.0, 30.0
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if kept(mid) < fraction else (lo, mid)
    for m in models.values():
        params = dict(m.bbox_head.named_parameters())
        for n in names:
            params[n].add_(hi)
    cls, obj = logits()  # measured again, through the shifted layers
    got = kept(0.0, cls, obj)
    if abs(got - fraction) > max(0.02, 4.0 / cls.numel()):
        raise RuntimeError(
            f'could not keep {100 * fraction:.1f} % of the locations (got '
            f'{100 * got:.1f} %): the scores tie across locations, e.g. a '
            'randomly initialised trunk whose features are constant per '
            'level. Load trained backbone / neck weights first.')
    return dict(delta=hi, fraction=got, locations=int(cls.numel()),
                score_thr=thr, biases=names)


# --------------------------------------------------------------------------
# one detector
# --------------------------------------------------------------------------
def bench_detector(key: str, settings: dict, tmp_dir: str,
                   log: Callable[[str], None] = print) -> dict:
    """Every measurement of one detector (stock vs ClipJoint).

    Args:
        key (str): Key of :data:`~.speed_detectors.SPEED_DETECTORS`.
        settings (dict): Output of :func:`speed_settings`.
        tmp_dir (str): Scratch folder.
        log (callable): Where progress lines go.
    """
    spec = SPEED_DETECTORS[key]
    device = settings['device']
    t_build = time.perf_counter()
    modes = list(settings['modes'])
    pair = build_pair(spec, settings['light_backbone'], device, tmp_dir,
                      modes=modes, small_rois=settings['small_rois'])
    models = pair['models']
    if settings['dense_fuse']:
        # one-stage heads: embed every location in clip / fuse mode (the
        # worst case; by default only those that can reach score_thr)
        for m in models.values():
            head = getattr(m, 'bbox_head', None)
            if hasattr(head, 'sparse_fuse'):
                head.sparse_fuse = False
    kf = settings['kept_fraction']
    trunk = None
    if kf is not None and key in ('rtmdet', 'yolo11'):
        # their randomly initialised trunks give (near) constant features
        # per level, so no classifier could keep a fraction of locations:
        # the trunk of the synthetic pre-training (cached) instead
        from .presets import preset_pretrained
        trunk = preset_pretrained('cpu-pt', key)
        sd = torch.load(trunk, map_location='cpu',
                        weights_only=True)['state_dict']
        for m in models.values():
            missing, unexpected = m.load_state_dict(sd, strict=False)
            assert not unexpected, unexpected
        log(f'[{key}] backbone + neck from {trunk}')
    calib = calibrate_kept_fraction(models, make_batch(1, settings['img_size']),
                                    kf) if kf is not None else None
    if calib is not None:
        calib['trunk'] = trunk
    if calib is not None:
        log(f"[{key}] classifier biases shifted by {calib['delta']:+.3f}: "
            f"{100 * calib['fraction']:.1f} % of {calib['locations']} "
            f"locations can reach score_thr={calib['score_thr']}")
    variants = ['stock'] + modes
    main_mode = 'fuse' if 'fuse' in modes else modes[-1]
    res = dict(
        name=spec['name'] + (' (R18 backbone)' if settings['light_backbone']
                             and key == 'frcnn' else ''),
        stock_config=spec['stock'], clipjoint_config=spec['clipjoint'],
        clipjoint_only_keys=len(pair['extra_keys']),
        build_s=time.perf_counter() - t_build,
        params=dict(stock=num_params(models['stock']),
                    clipjoint=num_params(models[main_mode])),
        infer={}, train={}, memory={}, flops={}, kept=calib)
    log(f'[{key}] built stock + ClipJoint x{len(modes)} '
        f"({res['params']['stock'] / 1e6:.2f} M vs "
        f"{res['params']['clipjoint'] / 1e6:.2f} M params, "
        f"{res['clipjoint_only_keys']} ClipJoint-only keys) in "
        f"{res['build_s']:.1f} s")

    # ---- inference ------------------------------------------------------
    # 'stock_aa': the stock model timed a second time per round, an A/A
    # control whose ratio to 'stock' shows the noise floor of the machine
    for bs in settings['batches']:
        first = bs == settings['batches'][0]
        timed_variants = variants + (['stock_aa'] if settings['aa'] and first
                                     else [])
        data = make_batch(bs, settings['img_size'])

        def infer(m, data=data):
            with torch.no_grad():
                return m.test_step(data)

        outs = {v: infer(models[v]) for v in variants}  # + equality check
        if first:
            res['det_equals_stock'] = _same_predictions(
                outs['stock'], outs['det'])
            # the post-processing work (score filter, NMS) depends on the
            # scores, which differ between modes (random weights!)
            res['detections'] = {
                v: sum(len(o.pred_instances) for o in outs[v]) / bs
                for v in variants}
        del outs
        times = interleaved(
            {v: (lambda m=models[v.replace('_aa', '')]: infer(m))
             for v in timed_variants},
            settings['reps'] if first else settings['reps_batched'],
            settings['warmup'] if first else min(settings['warmup'], 1), device)
        entry = {v: timing_entry(times, v, None if v == 'stock' else 'stock',
                                 per=bs) for v in timed_variants}
        res['infer'][f'bs{bs}'] = entry
        log(f'[{key}] inference bs{bs}: ' + ', '.join(
            f"{v} {entry[v]['time']['median'] * 1e3:.1f} ms/img" +
            (f" (x{entry[v]['ratio']['median']:.3f})" if v != 'stock'
             else '') for v in timed_variants))
        if settings['memory']:
            res['memory'][f'infer_bs{bs}'] = {
                v: peak_memory(lambda m=models[v]: infer(m), device)
                for v in variants}
        if settings['flops'] and bs == 1:
            res['flops'] = {
                v: count_flops(lambda m=models[v]: infer(m))
                for v in variants}
        if settings['profile'] and bs == 1:
            res['profile'] = dict(infer_bs1=profile_diff(
                {v: (lambda m=models[v]: infer(m))
                 for v in ('stock', main_mode)}, 'stock', settings['profile'],
                device=device))

    # ---- training step --------------------------------------------------
    if not settings['train']:
        return res
    # the score mode only matters at inference: train one ClipJoint model
    train_models = dict(stock=models['stock'], clipjoint=models[main_mode])
    for v in modes:
        if v != main_mode:
            del models[v]
    gc.collect()
    wrappers = dict(
        stock=build_optim_wrapper(train_models['stock'], pair['cfg_stock']),
        clipjoint=build_optim_wrapper(train_models['clipjoint'],
                                      pair['cfg_clipjoint']))
    data = make_batch(settings['train_batch'], settings['img_size'], seed=1)
    for m in train_models.values():
        m.train()

    def step(name):
        train_models[name].train_step(data, wrappers[name])

    names = list(train_models) + (['stock_aa'] if settings['aa'] else [])
    times = interleaved({n: (lambda n=n.replace('_aa', ''): step(n))
                         for n in names}, settings['train_reps'],
                        max(settings['warmup'], 1), device)
    res['train'] = dict(batch=settings['train_batch'])
    for n in names:
        res['train'][n] = timing_entry(times, n,
                                       None if n == 'stock' else 'stock')
    log(f"[{key}] train step bs{settings['train_batch']}: " + ', '.join(
        f"{n} {res['train'][n]['time']['median']:.3f} s" +
        (f" (x{res['train'][n]['ratio']['median']:.3f})" if n != 'stock'
         else '') for n in names))
    if settings['memory']:
        res['memory']['train'] = {
            n: peak_memory(lambda n=n: step(n), device)
            for n in train_models}
    if settings['profile']:
        res.setdefault('profile', {})['train'] = profile_diff(
            {n: (lambda n=n: step(n)) for n in train_models}, 'stock',
            settings['profile'], device=device)
    return res


# --------------------------------------------------------------------------
# text-bank initialisation (one-off)
# --------------------------------------------------------------------------
def bench_text_bank(tmp_dir: str, clip_model: str = 'ViT-B-32',
                    text_classes: int = 80,
                    text_templates: Sequence[int] = (1, 10),
                    log: Callable[[str], None] = print) -> dict:
    """CLIP text encoding (random weights) of C x T prompts, and the
    file-cache path of :func:`encode_class_names_cached`.

    Args:
        tmp_dir (str): Scratch folder (checkpoint and cache).
        clip_model (str): open_clip model name.
        text_classes (int): C, the first COCO class names.
        text_templates (Sequence[int]): T of each timed encoding.
        log (callable): Where progress lines go.
    """
    from mmdet.datasets import CocoDataset

    from mmdet_clipjoint.models.utils.clip_text import (
        ENSEMBLE_TEMPLATES, build_clip_model, encode_class_names,
        encode_class_names_cached)
    model_name = clip_model
    names = list(CocoDataset.METAINFO['classes'])[:text_classes]
    out = dict(model=model_name, classes=len(names),
               threads=torch.get_num_threads())
    t0 = time.perf_counter()
    clip = build_clip_model(model_name, None)
    out['build_s'] = time.perf_counter() - t0
    for t_count in text_templates:
        templates = (list(ENSEMBLE_TEMPLATES) * math.ceil(
            t_count / len(ENSEMBLE_TEMPLATES)))[:t_count]
        t0 = time.perf_counter()
        encode_class_names(names, model_name, None, templates, model=clip)
        out[f'encode_T{t_count}_s'] = time.perf_counter() - t0
        log(f'[text bank] {model_name} C={len(names)} x T={t_count}: '
            f"{out[f'encode_T{t_count}_s']:.2f} s")
    # the cache is only used for real weights: a local checkpoint file
    ckpt = osp.join(tmp_dir, 'clip_random.pt')
    torch.save(clip.state_dict(), ckpt)
    del clip
    cache = osp.join(tmp_dir, 'text_cache')
    templates = list(ENSEMBLE_TEMPLATES[:1])
    t0 = time.perf_counter()
    a = encode_class_names_cached(names, model_name, ckpt, templates, cache)
    out['cached_first_call_s'] = time.perf_counter() - t0
    t0 = time.perf_counter()
    b = encode_class_names_cached(names, model_name, ckpt, templates, cache)
    out['cached_second_call_s'] = time.perf_counter() - t0
    out['cache_consistent'] = bool(torch.allclose(a, b))
    log(f"[text bank] cached path T=1: first call (load checkpoint + "
        f"encode + save) {out['cached_first_call_s']:.2f} s, second call "
        f"{out['cached_second_call_s'] * 1e3:.1f} ms")
    return out


def _print(line: str) -> None:
    print(line, flush=True)


def run_speed_benchmark(preset_name: str = 'full',
                        detectors: Optional[Sequence[str]] = None,
                        out: Optional[str] = None,
                        device: str = 'cpu',
                        threads: Optional[int] = None,
                        command: Optional[str] = None,
                        log: Callable[[str], None] = _print,
                        **options) -> dict:
    """Run the speed benchmark, log its report and optionally write it.

    Args:
        preset_name (str): Key of :data:`~.speed_detectors.SPEED_PRESETS`
            (``quick`` or ``full``).
        detectors (Sequence[str], optional): Keys of
            :data:`~.speed_detectors.SPEED_DETECTORS` (default: every one
            whose ClipJoint config is shipped).
        out (str, optional): Write ``<out>.md`` and ``<out>.json`` (a
            ``.md`` / ``.json`` suffix is dropped).
        device (str): ``cpu`` or ``cuda[:i]``.
        threads (int, optional): Torch intra-op threads of the
            measurements (default on CPU: 1 -- on a shared machine
            multi-threaded OpenMP regions wait for descheduled threads,
            which multiplies the noise; on CUDA: torch's). The text-bank
            timing uses torch's own; the caller's are restored at the end.
        command (str, optional): The command line recorded in the results
            (default: this call).
        log (callable): Where progress lines and the report go; the last
            line is the ``ratios:`` line.
        **options: Settings overriding the preset (see
            :func:`speed_settings`).

    Returns:
        dict: ``command``, ``environment``, ``settings``, ``detectors``
        (key -> measurements), ``text_bank`` (when timed), ``wall_s`` and
        ``ratios_line``; as written to ``<out>.json``.
    """
    settings = speed_settings(preset_name, device, **options)
    keys = list(detectors) if detectors else _shipped_detectors(log)
    unknown = [k for k in keys if k not in SPEED_DETECTORS]
    if unknown:
        raise ValueError(f'unknown detectors {unknown}; choose from '
                         f'{list(SPEED_DETECTORS)}')
    default_threads = torch.get_num_threads()
    if threads is None and device == 'cpu':
        threads = 1
    settings['threads'] = threads
    if command is None:
        command = f'run_speed_benchmark({preset_name!r}, detectors={keys}, ' \
            + ', '.join(f'{k}={v!r}' for k, v in options.items()) + ')'
    from mmdet.utils import register_all_modules
    from mmengine.logging import MMLogger
    register_all_modules()
    logger = MMLogger.get_current_instance()
    log_level = logger.level
    logger.setLevel('WARNING')  # init_weights logs every parameter
    try:
        if threads:
            torch.set_num_threads(threads)
        results = dict(command=command, environment=environment(device),
                       settings=settings, detectors={})
        t_start = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            for key in keys:
                results['detectors'][key] = bench_detector(
                    key, settings, tmp, log)
                gc.collect()
            if settings['text_bank']:
                # a one-off cost, timed as users run it: torch's threads
                torch.set_num_threads(default_threads)
                results['text_bank'] = bench_text_bank(
                    tmp, settings['clip_model'], settings['text_classes'],
                    settings['text_templates'], log)
        results['wall_s'] = time.perf_counter() - t_start
    finally:  # in-process callers (tests) get their settings back
        torch.set_num_threads(default_threads)
        logger.setLevel(log_level)
    results['ratios_line'] = ratios_line(results)
    text = markdown(results)
    if out:
        _write(out, text, results)
    log('\n' + text.rstrip('\n').rsplit('\n', 1)[0])
    log(f"(wall time {results['wall_s']:.1f} s)")
    log(results['ratios_line'])
    return results


def _shipped_detectors(log: Callable[[str], None]) -> List[str]:
    """Every detector whose ClipJoint config ships with the package."""
    keys = []
    for k, spec in SPEED_DETECTORS.items():
        try:
            config_file(spec['clipjoint'])
            keys.append(k)
        except FileNotFoundError:
            log(f"[{k}] skipped: {spec['clipjoint']} does not exist")
    return keys


def _write(out: str, text: str, results: dict) -> None:
    prefix = re.sub(r'\.(md|json)$', '', out)
    if osp.dirname(prefix):
        os.makedirs(osp.dirname(prefix), exist_ok=True)
    with open(prefix + '.md', 'w') as f:
        f.write(text)
    with open(prefix + '.json', 'w') as f:
        json.dump(results, f, indent=1)
