# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Speed and memory of ClipJoint next to its stock twin, in one process.

For each detector (Faster R-CNN R50-FPN, RTMDet-tiny) it builds the ClipJoint
model once per score mode (det / clip / fuse) and the stock detector, all
carrying the *same* weights: the ClipJoint state dict is loaded into the stock
model with ``strict=False`` and only ClipJoint-specific keys may be left over.
It then measures, interleaved (the order of the models rotates every
repetition, so machine noise hits all alike):

* inference latency per image (``model.test_step``: pre-processing, forward,
  post-processing and NMS) at batch 1 and batch 8;
* the training step time (``model.train_step``: forward, backward and the
  config's optimizer step; learning rate 0 so that the weights -- and hence
  every model's workload -- stay identical across repetitions);
* peak memory of one call: on CUDA ``max_memory_allocated`` minus what was
  allocated before the call; on CPU the increase of the peak RSS (``VmHWM``)
  during the call (after ``malloc_trim``), i.e. the activations and
  workspace, not the weights;
* parameters and FLOPs (``torch.utils.flop_counter`` on the same inference
  call: convolutions and matrix products, 2 FLOPs per multiply-add; RoIAlign,
  NMS and element-wise ops are not counted);
* optionally the one-off text-bank initialisation (CLIP ViT-B/32 text encoder
  with random weights, C classes x T prompt templates, and the file-cache
  path).

It reports medians with the inter-quartile range and min-max, and the ratio
ClipJoint / stock as the median of the per-repetition ratios (each ratio
taken from the same repetition), from wall-clock and from process CPU time.
``--aa`` times the stock model twice per repetition: the ratio of the two is
the noise floor of the machine. ``--profile N`` adds a per-op diff
(torch.profiler) of stock vs ClipJoint. Inputs are fixed random images; text
banks use ``init_source='random'`` (no CLIP weights offline). On CPU it runs
with 1 torch thread unless ``--threads`` says otherwise (on a shared machine,
multi-threaded OpenMP regions multiply the noise). Results:
``docs/benchmark_speed.md``.

The last line of the output always reads::

    ratios: frcnn det=1.001 fuse=1.030 train=1.020 | rtmdet det=... fuse=... train=...

(batch-1 inference ratios in det / fuse mode and the training-step ratio;
``nan`` for a detector that was not run).

Examples:
    python tools/benchmark_speed.py --quick
    python tools/benchmark_speed.py --out /tmp/speed  # + .md and .json
    python tools/benchmark_speed.py --device cuda --img-size 640 --reps 50
"""
import argparse
import contextlib
import copy
import ctypes
import datetime
import gc
import json
import math
import os
import os.path as osp
import platform
import re
import sys
import tempfile
import time
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np
import torch

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))

#: stock config (mmdet's) and its ClipJoint twin (ours, relative to the repo)
DETECTORS = dict(
    frcnn=dict(
        name='Faster R-CNN R50-FPN',
        stock='mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py',
        clipjoint='configs/clipjoint_faster-rcnn/'
        'clipjoint-faster-rcnn_r50_fpn_1x_coco.py'),
    rtmdet=dict(
        name='RTMDet-tiny',
        stock='mmdet::rtmdet/rtmdet_tiny_8xb32-300e_coco.py',
        clipjoint='configs/clipjoint_rtmdet/'
        'clipjoint-rtmdet_tiny_8xb32-300e_coco.py'),
)
SCORE_MODES = ('det', 'clip', 'fuse')
#: substrings that mark a state-dict key as ClipJoint-only (the branch)
CLIPJOINT_KEY_PATTERNS = ('text_bank', 'proj', 'contrast', 'embed', 'clip')

PRESETS = dict(
    # < 2 min on 2 shared CPU cores, R18 backbone for Faster R-CNN
    quick=dict(img_size=128, reps=11, reps_batched=3, train_reps=5, warmup=1,
               batches=[1], train_batch=2,
               light_backbone=True, small_rois=True, aa=False, memory=True,
               flops=True, profile=0, text_bank=False),
    full=dict(img_size=320, reps=15, reps_batched=5, train_reps=9, warmup=2,
              batches=[1, 8],
              train_batch=2, light_backbone=False, small_rois=False,
              aa=True, memory=True, flops=True, profile=5, text_bank=True),
)


# --------------------------------------------------------------------------
# statistics and formatting
# --------------------------------------------------------------------------
def summarize(values: Sequence[float]) -> Dict[str, float]:
    """Median, quartiles, min and max of ``values``."""
    a = np.asarray(values, dtype=float)
    if a.size == 0:
        nan = float('nan')
        return dict(median=nan, q1=nan, q3=nan, min=nan, max=nan, n=0)
    q1, med, q3 = np.percentile(a, [25, 50, 75])
    return dict(median=float(med), q1=float(q1), q3=float(q3),
                min=float(a.min()), max=float(a.max()), n=int(a.size))


def paired_ratios(num: Sequence[float], den: Sequence[float]) -> List[float]:
    """Per-repetition ratios ``num[i] / den[i]``."""
    return [a / b for a, b in zip(num, den) if b > 0]


def fmt_ms(s: Dict[str, float]) -> str:
    if not s['n']:
        return 'n/a'
    return (f"{s['median'] * 1e3:.1f} "
            f"[{s['q1'] * 1e3:.1f}-{s['q3'] * 1e3:.1f}]")


def fmt_ratio(s: Optional[Dict[str, float]]) -> str:
    if not s or not s['n']:
        return 'n/a'
    return f"{s['median']:.3f} [{s['q1']:.3f}-{s['q3']:.3f}]"


def fmt_num(x: Optional[float], unit: str = '', scale: float = 1.0) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return 'n/a'
    return f'{x / scale:.2f}{unit}'


# --------------------------------------------------------------------------
# configs and models
# --------------------------------------------------------------------------
def load_cfg(path: str, tmp_dir: str):
    """Load a config file; ``mmdet::`` paths through a one-line child."""
    from mmengine.config import Config
    if '::' not in path:
        path = path if osp.isabs(path) else osp.join(REPO_ROOT, path)
        return Config.fromfile(path)
    child = osp.join(tmp_dir, re.sub(r'\W', '_', path) + '.py')
    with open(child, 'w') as f:
        f.write(f"_base_ = '{path}'\n")
    return Config.fromfile(child)


def _walk(node, fn):
    if isinstance(node, dict):
        fn(node)
        for v in node.values():
            _walk(v, fn)
    elif isinstance(node, (list, tuple)):
        for v in node:
            _walk(v, fn)


def prepare_model_cfg(cfg, light_backbone: bool,
                      score_mode: Optional[str] = None,
                      small_rois: bool = False) -> dict:
    """The model config, made buildable offline and identical in shape.

    * no pretrained backbone download (``init_cfg=None``);
    * optionally ResNet-50 -> ResNet-18 and the RoI budgets of the
      project's CPU tests (RPN: 200 pre-NMS / 100 proposals, 64 sampled
      RoIs per image), the same for the stock model and its twin;
    * text banks: ``init_source='random'``, no cache;
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
        train_cfg = model.get('train_cfg') or {}
        if 'rpn_proposal' in train_cfg:
            train_cfg.rpn_proposal.update(nms_pre=200, max_per_img=100)
            train_cfg.rcnn.sampler.update(num=64)
        test_cfg = model.get('test_cfg') or {}
        if 'rpn' in test_cfg:
            test_cfg.rpn.update(nms_pre=200, max_per_img=100)
    found = []

    def fix(d):
        if d.get('type') == 'ContrastiveTextBank':
            d.update(init_source='random', cache_dir=None)
        if score_mode is not None and 'score_mode' in d:
            d['score_mode'] = score_mode
            found.append(d.get('type'))

    _walk(model, fix)
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


# --------------------------------------------------------------------------
# measurement primitives
# --------------------------------------------------------------------------
def sync(device: str) -> None:
    if device.startswith('cuda'):
        torch.cuda.synchronize()


def timed(fn: Callable, device: str):
    """Wall-clock and process CPU seconds of one call (CUDA: synchronised)."""
    sync(device)
    c0, t0 = time.process_time(), time.perf_counter()
    fn()
    sync(device)
    return time.perf_counter() - t0, time.process_time() - c0


def interleaved(fns: Dict[str, Callable], reps: int, warmup: int,
                device: str) -> Dict[str, Dict[str, List[float]]]:
    """Time every function ``reps`` times; the order rotates each round.

    Returns:
        dict: ``{'wall': {name: [s, ...]}, 'cpu': {name: [s, ...]}}``.
    """
    names = list(fns)
    out = dict(wall={n: [] for n in names}, cpu={n: [] for n in names})
    for r in range(warmup + reps):
        k = r % len(names)
        for n in names[k:] + names[:k]:
            wall, cpu = timed(fns[n], device)
            if r >= warmup:
                out['wall'][n].append(wall)
                out['cpu'][n].append(cpu)
    return out


def timing_entry(times: dict, name: str, ref: Optional[str],
                 per: int = 1) -> dict:
    """Summaries of one model's times (divided by ``per``) and its paired
    ratios to ``ref``."""
    e = dict(time=summarize([t / per for t in times['wall'][name]]),
             cpu_time=summarize([t / per for t in times['cpu'][name]]))
    if ref is not None:
        e['ratio'] = summarize(
            paired_ratios(times['wall'][name], times['wall'][ref]))
        e['cpu_ratio'] = summarize(
            paired_ratios(times['cpu'][name], times['cpu'][ref]))
    return e


def _read_status(key: str) -> Optional[int]:
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(key + ':'):
                return int(line.split()[1]) * 1024
    return None


def _cpu_peak(fn: Callable) -> Optional[float]:
    """Peak RSS increase (bytes) during ``fn()`` (Linux only).

    Freed heap memory is handed back to the OS first (``malloc_trim``), so
    that memory cached by the allocator from earlier calls cannot hide the
    peak; then the kernel's high-water mark is reset (``clear_refs`` 5) and
    read after the call. (A forked child would be cleaner but deadlocks
    with torch's thread pools.)
    """
    if not osp.exists('/proc/self/clear_refs'):
        return None
    try:
        gc.collect()
        with contextlib.suppress(Exception):
            ctypes.CDLL('libc.so.6').malloc_trim(0)
        base = _read_status('VmRSS')
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')  # reset VmHWM to the current RSS
    except OSError:
        return None
    fn()
    peak = _read_status('VmHWM')
    return None if peak is None or base is None else float(peak - base)


def peak_memory(fn: Callable, device: str) -> Optional[float]:
    """Peak memory (bytes) one call of ``fn`` adds on ``device``."""
    if device.startswith('cuda'):
        sync(device)
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        fn()
        sync(device)
        return float(torch.cuda.max_memory_allocated() - base)
    return _cpu_peak(fn)


def count_flops(fn: Callable) -> Optional[float]:
    """FLOPs (2 per multiply-add) of conv/matmul ops run by ``fn``."""
    try:
        from torch.utils.flop_counter import FlopCounterMode
    except ImportError:  # torch < 2.1
        return None
    mode = FlopCounterMode(display=False)
    with mode:
        fn()
    return float(mode.get_total_flops())


def op_profile(fn: Callable, device: str = 'cpu') -> Dict[str, List[float]]:
    """Self time (ms) and count of every op during one call of ``fn``: CPU
    time, or on CUDA the kernels' device time plus the CPU time."""
    from torch.profiler import ProfilerActivity, profile
    acts = [ProfilerActivity.CPU]
    if device.startswith('cuda'):
        acts.append(ProfilerActivity.CUDA)
    with profile(activities=acts) as prof:
        fn()
        sync(device)

    def self_us(e):
        t = e.self_cpu_time_total
        if device.startswith('cuda'):
            t += getattr(e, 'self_device_time_total',
                         getattr(e, 'self_cuda_time_total', 0))
        return t

    return {e.key: [self_us(e) / 1e3, e.count] for e in prof.key_averages()}


def profile_diff(fns: Dict[str, Callable], ref: str, calls: int = 5,
                 top: int = 8, device: str = 'cpu') -> Dict[str, list]:
    """Ops whose self time grows most from ``ref`` to each other model.

    The models are profiled alternately, one call each per round, after
    one untimed call. Per op, the median over the ``calls`` rounds is
    kept: a preemption by another process lands on one random op of one
    call and is dropped by the median.

    Returns:
        dict: model -> rows ``dict(op, ref_ms, ms, delta_ms, ref_calls,
        calls)`` (per call), largest increase first, plus a ``total`` row
        (sum over all ops of the medians).
    """
    for fn in fns.values():
        fn()
    runs = {n: [] for n in fns}
    for _ in range(calls):
        for n, fn in fns.items():
            runs[n].append(op_profile(fn, device))

    def med(n, op, i):
        return float(np.median([r.get(op, [0.0, 0])[i] for r in runs[n]]))

    out = {}
    for n in fns:
        if n == ref:
            continue
        ops = set().union(*runs[n], *runs[ref])
        rows = [dict(op=op, ref_ms=med(ref, op, 0), ms=med(n, op, 0),
                     ref_calls=med(ref, op, 1), calls=med(n, op, 1))
                for op in ops]
        for r in rows:
            r['delta_ms'] = r['ms'] - r['ref_ms']
        rows.sort(key=lambda r: -r['delta_ms'])
        total = dict(op='total', ref_ms=sum(r['ref_ms'] for r in rows),
                     ms=sum(r['ms'] for r in rows), ref_calls=0, calls=0)
        total['delta_ms'] = total['ms'] - total['ref_ms']
        out[n] = rows[:top] + [total]
    return out


def num_params(model) -> int:
    return sum(p.numel() for p in model.parameters())


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


# --------------------------------------------------------------------------
# one detector
# --------------------------------------------------------------------------
def bench_detector(key: str, args, tmp_dir: str, log=print) -> dict:
    """Every measurement of one detector (stock vs ClipJoint)."""
    spec = DETECTORS[key]
    device = args.device
    t_build = time.perf_counter()
    modes = list(args.modes)
    pair = build_pair(spec, args.light_backbone, device, tmp_dir,
                      modes=modes, small_rois=args.small_rois)
    models = pair['models']
    variants = ['stock'] + modes
    main_mode = 'fuse' if 'fuse' in modes else modes[-1]
    res = dict(
        name=spec['name'] + (' (R18 backbone)' if args.light_backbone
                             and key == 'frcnn' else ''),
        stock_config=spec['stock'], clipjoint_config=spec['clipjoint'],
        clipjoint_only_keys=len(pair['extra_keys']),
        build_s=time.perf_counter() - t_build,
        params=dict(stock=num_params(models['stock']),
                    clipjoint=num_params(models[main_mode])),
        infer={}, train={}, memory={}, flops={})
    log(f'[{key}] built stock + ClipJoint x{len(modes)} '
        f"({res['params']['stock'] / 1e6:.2f} M vs "
        f"{res['params']['clipjoint'] / 1e6:.2f} M params, "
        f"{res['clipjoint_only_keys']} ClipJoint-only keys) in "
        f"{res['build_s']:.1f} s")

    # ---- inference ------------------------------------------------------
    # 'stock_aa': the stock model timed a second time per round, an A/A
    # control whose ratio to 'stock' shows the noise floor of the machine
    for bs in args.batches:
        first = bs == args.batches[0]
        timed_variants = variants + (['stock_aa'] if args.aa and first
                                     else [])
        data = make_batch(bs, args.img_size)

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
            args.reps if first else args.reps_batched,
            args.warmup if first else min(args.warmup, 1), device)
        entry = {v: timing_entry(times, v, None if v == 'stock' else 'stock',
                                 per=bs) for v in timed_variants}
        res['infer'][f'bs{bs}'] = entry
        log(f'[{key}] inference bs{bs}: ' + ', '.join(
            f"{v} {entry[v]['time']['median'] * 1e3:.1f} ms/img" +
            (f" (x{entry[v]['ratio']['median']:.3f})" if v != 'stock'
             else '') for v in timed_variants))
        if args.memory:
            res['memory'][f'infer_bs{bs}'] = {
                v: peak_memory(lambda m=models[v]: infer(m), device)
                for v in variants}
        if args.flops and bs == 1:
            res['flops'] = {
                v: count_flops(lambda m=models[v]: infer(m))
                for v in variants}
        if args.profile and bs == 1:
            res['profile'] = dict(infer_bs1=profile_diff(
                {v: (lambda m=models[v]: infer(m))
                 for v in ('stock', main_mode)}, 'stock', args.profile,
                device=device))

    # ---- training step --------------------------------------------------
    if not args.train:
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
    data = make_batch(args.train_batch, args.img_size, seed=1)
    for m in train_models.values():
        m.train()

    def step(name):
        train_models[name].train_step(data, wrappers[name])

    names = list(train_models) + (['stock_aa'] if args.aa else [])
    times = interleaved({n: (lambda n=n.replace('_aa', ''): step(n))
                         for n in names}, args.train_reps,
                        max(args.warmup, 1), device)
    res['train'] = dict(batch=args.train_batch)
    for n in names:
        res['train'][n] = timing_entry(times, n,
                                       None if n == 'stock' else 'stock')
    log(f"[{key}] train step bs{args.train_batch}: " + ', '.join(
        f"{n} {res['train'][n]['time']['median']:.3f} s" +
        (f" (x{res['train'][n]['ratio']['median']:.3f})" if n != 'stock'
         else '') for n in names))
    if args.memory:
        res['memory']['train'] = {
            n: peak_memory(lambda n=n: step(n), device)
            for n in train_models}
    if args.profile:
        res.setdefault('profile', {})['train'] = profile_diff(
            {n: (lambda n=n: step(n)) for n in train_models}, 'stock',
            args.profile, device=device)
    return res


# --------------------------------------------------------------------------
# text-bank initialisation (one-off)
# --------------------------------------------------------------------------
def bench_text_bank(args, tmp_dir: str, log=print) -> dict:
    """CLIP ViT-B/32 (random weights) text encoding of C x T prompts, and
    the file-cache path of :func:`encode_class_names_cached`."""
    from mmdet.datasets import CocoDataset

    from mmdet_clipjoint.models.utils.clip_text import (
        ENSEMBLE_TEMPLATES, build_clip_model, encode_class_names,
        encode_class_names_cached)
    model_name = args.clip_model
    names = list(CocoDataset.METAINFO['classes'])[:args.text_classes]
    out = dict(model=model_name, classes=len(names),
               threads=torch.get_num_threads())
    t0 = time.perf_counter()
    clip = build_clip_model(model_name, None)
    out['build_s'] = time.perf_counter() - t0
    for t_count in args.text_templates:
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


# --------------------------------------------------------------------------
# report
# --------------------------------------------------------------------------
def environment(device: str) -> dict:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    cpu = line.split(':', 1)[1].strip()
                    break
    env = dict(date=datetime.datetime.now().astimezone().isoformat(
        timespec='seconds'), cpu=cpu, cpu_cores=os.cpu_count(),
        torch_threads=torch.get_num_threads(), torch=torch.__version__,
        python=platform.python_version(), device=device)
    with contextlib.suppress(Exception):
        import mmdet
        env['mmdet'] = mmdet.__version__
    if device.startswith('cuda'):
        env['gpu'] = torch.cuda.get_device_name()
    return env


def ratios_line(results: dict) -> str:
    parts = []
    for key in DETECTORS:
        r = results['detectors'].get(key)
        nan = float('nan')
        if r is None:
            det = fuse = train = nan
        else:
            first = r['infer'][f"bs{results['settings']['batches'][0]}"]
            det, fuse = (first[m]['ratio']['median'] if m in first else nan
                         for m in ('det', 'fuse'))
            train = r['train']['clipjoint']['ratio']['median'] \
                if r['train'] else nan
        parts.append(f'{key} det={det:.3f} fuse={fuse:.3f} train={train:.3f}')
    return 'ratios: ' + ' | '.join(parts)


def parse_ratios_line(line: str) -> Dict[str, Dict[str, float]]:
    """Inverse of :func:`ratios_line` (for scripts and tests)."""
    m = re.fullmatch(r'ratios: (.*)', line.strip())
    if not m:
        raise ValueError(f'not a ratios line: {line!r}')
    out = {}
    for part in m.group(1).split(' | '):
        key, *kvs = part.split()
        out[key] = {k: float(v) for k, v in (kv.split('=') for kv in kvs)}
    return out


def markdown(results: dict) -> str:
    s, env = results['settings'], results['environment']
    lines = [
        f"Command: `{results['command']}`  ",
        f"Date: {env['date']}; device: {env['device']}"
        + (f" ({env['gpu']})" if 'gpu' in env else '')
        + f"; CPU: {env['cpu']}, {env['cpu_cores']} cores, "
        f"{env['torch_threads']} torch threads; torch {env['torch']}, "
        f"mmdet {env.get('mmdet', '?')}, Python {env['python']}  ",
        f"Images {s['img_size']}x{s['img_size']} (fixed random), "
        f"{s['reps']} interleaved repetitions ({s['reps_batched']} for "
        f"batches > 1, {s['train_reps']} for training) after "
        f"{s['warmup']} warm-up; "
        'times: median [IQR]; ratio: median [IQR] of the per-repetition '
        'ClipJoint / stock ratios.', ''
    ]
    for key, r in results['detectors'].items():
        dets = ', '.join(f'{v} {n:g}' for v, n in
                         r.get('detections', {}).items())
        lines += [f"### {r['name']}", '',
                  f"det-mode predictions identical to stock: "
                  f"{r.get('det_equals_stock')}; ClipJoint-only state-dict "
                  f"keys: {r['clipjoint_only_keys']}; final detections per "
                  f"image (random weights): {dets}", '']
        lines += ['| model | params (M) | GFLOPs (bs1) | '
                  + ' | '.join(f'ms/img bs{b} | ratio bs{b} | CPU-time '
                               f'ratio bs{b}' for b in s['batches'])
                  + f" | peak mem bs{s['batches'][0]} (MiB) |",
                  '|---' * (4 + 3 * len(s['batches'])) + '|']
        for v in ['stock', 'stock_aa'] + list(SCORE_MODES):
            if v not in r['infer'][f"bs{s['batches'][0]}"]:
                continue
            label = dict(stock='stock', stock_aa='stock again (A/A noise '
                         'control)').get(v, f'ClipJoint {v}')
            p = r['params']['stock' if 'stock' in v else 'clipjoint']
            cells = [label, f'{p / 1e6:.2f}',
                     fmt_num(r['flops'].get(v), scale=1e9)]
            for b in s['batches']:
                e = r['infer'][f'bs{b}'].get(v)
                cells += [fmt_ms(e['time']), fmt_ratio(e.get('ratio')),
                          fmt_ratio(e.get('cpu_ratio'))] if e else ['-'] * 3
            mem = r['memory'].get(f'infer_bs{s["batches"][0]}', {}).get(v)
            cells.append(fmt_num(mem, scale=2**20))
            lines.append('| ' + ' | '.join(cells) + ' |')
        t = r['train']
        if not t:
            continue
        lines += ['', f"Training step (batch {t['batch']}, forward + "
                  'backward + optimizer step):', '',
                  '| model | s/step | ratio | CPU-time ratio | '
                  'peak mem (MiB) |',
                  '|---|---|---|---|---|']
        for n in ('stock', 'stock_aa', 'clipjoint'):
            if n not in t:
                continue
            tm = t[n]['time']
            label = dict(stock_aa='stock again (A/A)').get(n, n)
            lines.append(
                f"| {label} | {tm['median']:.3f} [{tm['q1']:.3f}-"
                f"{tm['q3']:.3f}] | {fmt_ratio(t[n].get('ratio'))} | "
                f"{fmt_ratio(t[n].get('cpu_ratio'))} | "
                f"{fmt_num(r['memory'].get('train', {}).get(n), scale=2**20)}"
                ' |')
        lines.append('')
        for phase, diffs in r.get('profile', {}).items():
            for n, rows in diffs.items():
                lines += [f'Profile, {phase}: ops whose self time grows '
                          f'most from stock to ClipJoint {n} (ms per call, '
                          'median over calls, torch.profiler):', '',
                          '| op | stock ms (calls) | ClipJoint ms (calls) | '
                          'delta ms |', '|---|---|---|---|']
                for row in rows:
                    lines.append(
                        f"| {row['op']} | {row['ref_ms']:.1f} "
                        f"({row['ref_calls']:g}) | {row['ms']:.1f} "
                        f"({row['calls']:g}) | {row['delta_ms']:+.1f} |")
                lines.append('')
    tb = results.get('text_bank')
    if tb:
        lines += [f"### Text-bank initialisation ({tb['model']}, random "
                  f"weights, C={tb['classes']}, {tb['threads']} threads)", '',
                  '| step | time (s) |', '|---|---|',
                  f"| build the CLIP model | {tb['build_s']:.2f} |"]
        for k, v in tb.items():
            if k.startswith('encode_T'):
                t_count = k[len('encode_T'):-2]
                lines.append(f'| encode C x T={t_count} prompts | {v:.2f} |')
        lines += [f"| cached, first call (load + encode + save) | "
                  f"{tb['cached_first_call_s']:.2f} |",
                  f"| cached, second call (cache hit) | "
                  f"{tb['cached_second_call_s']:.3f} |", '']
    lines.append(results['ratios_line'])
    return '\n'.join(lines) + '\n'


# --------------------------------------------------------------------------
# entry point
# --------------------------------------------------------------------------
def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--quick', action='store_true',
                   help='< 2 min on 2 CPU cores: 128 px, 11 repetitions '
                   '(5 for training), '
                   'batch 1, Faster R-CNN with a ResNet-18 backbone and '
                   'CPU-test RoI budgets')
    p.add_argument('--detectors', nargs='+', choices=list(DETECTORS),
                   default=None,
                   help='default: all whose ClipJoint config exists')
    p.add_argument('--device', default='cpu', help='cpu or cuda[:i]')
    p.add_argument('--img-size', type=int, default=None)
    p.add_argument('--reps', type=int, default=None)
    p.add_argument('--train-reps', type=int, default=None,
                   help='repetitions of the training step')
    p.add_argument('--reps-batched', type=int, default=None,
                   help='repetitions for inference batches > 1')
    p.add_argument('--warmup', type=int, default=None)
    p.add_argument('--batches', type=int, nargs='+', default=None,
                   help='inference batch sizes (first: the ratios line)')
    p.add_argument('--train-batch', type=int, default=None)
    p.add_argument('--light-backbone', dest='light_backbone',
                   action='store_true', default=None,
                   help='Faster R-CNN with ResNet-18 (both models)')
    p.add_argument('--r50', dest='light_backbone', action='store_false',
                   help='keep ResNet-50 (default of the full run)')
    p.add_argument('--modes', nargs='+', choices=SCORE_MODES,
                   default=list(SCORE_MODES),
                   help='ClipJoint score modes to time (default: all)')
    p.add_argument('--no-train', dest='train', action='store_false',
                   help='skip the training-step measurements')
    p.add_argument('--small-rois', dest='small_rois', action='store_true',
                   default=None, help='Faster R-CNN with the CPU-test RoI '
                   'budgets (100 proposals, 64 sampled RoIs)')
    p.add_argument('--stock-rois', dest='small_rois', action='store_false',
                   help='keep the configs\' RoI budgets (full run)')
    p.add_argument('--aa', dest='aa', action='store_true', default=None,
                   help='time the stock model twice per round (A/A noise '
                   'control)')
    p.add_argument('--no-aa', dest='aa', action='store_false')
    p.add_argument('--no-memory', dest='memory', action='store_false',
                   default=None)
    p.add_argument('--no-flops', dest='flops', action='store_false',
                   default=None)
    p.add_argument('--profile', type=int, default=None, metavar='CALLS',
                   help='torch.profiler: per-op self CPU time of stock vs '
                   'ClipJoint fuse (inference bs1) and training, CALLS calls '
                   'each (0: off)')
    p.add_argument('--text-bank', dest='text_bank', action='store_true',
                   default=None, help='time the text-bank initialisation')
    p.add_argument('--no-text-bank', dest='text_bank', action='store_false')
    p.add_argument('--text-classes', type=int, default=80)
    p.add_argument('--text-templates', type=int, nargs='+', default=[1, 10])
    p.add_argument('--clip-model', default='ViT-B-32')
    p.add_argument('--threads', type=int, default=None,
                   help='torch intra-op threads (default on CPU: 1 -- on a '
                   'shared machine multi-threaded OpenMP regions wait for '
                   'descheduled threads, which multiplies the noise; on '
                   'CUDA: torch\'s default)')
    p.add_argument('--out', default=None,
                   help='write <out>.md and <out>.json')
    args = p.parse_args(argv)
    preset = PRESETS['quick' if args.quick else 'full']
    for k, v in preset.items():
        if getattr(args, k, None) is None:
            setattr(args, k, v)
    if args.device.startswith('cuda') and not torch.cuda.is_available():
        p.error('--device cuda but CUDA is not available')
    return args


def run(args, argv=None) -> dict:
    """Every measurement requested by ``args``; returns the results."""
    keys = args.detectors
    if keys is None:
        keys = [k for k in DETECTORS
                if osp.isfile(osp.join(REPO_ROOT, DETECTORS[k]['clipjoint']))]
        for k in DETECTORS:
            if k not in keys:
                print(f"[{k}] skipped: {DETECTORS[k]['clipjoint']} does not "
                      'exist yet')
    settings = {k: getattr(args, k) for k in (
        'quick', 'img_size', 'reps', 'reps_batched', 'train_reps', 'warmup',
        'batches',
        'train_batch', 'light_backbone', 'small_rois', 'aa', 'memory',
        'flops', 'profile', 'text_bank', 'device', 'threads', 'modes',
        'train')}
    results = dict(
        command='python ' + ' '.join(
            [osp.relpath(osp.abspath(__file__), REPO_ROOT)] +
            list(sys.argv[1:] if argv is None else argv)),
        environment=environment(args.device), settings=settings,
        detectors={})
    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for key in keys:
            results['detectors'][key] = bench_detector(key, args, tmp)
            gc.collect()
        if args.text_bank:
            # a one-off cost, timed as users run it: torch's own threads
            torch.set_num_threads(args.default_threads)
            results['text_bank'] = bench_text_bank(args, tmp)
    results['wall_s'] = time.perf_counter() - t_start
    results['ratios_line'] = ratios_line(results)
    return results


def main(argv=None) -> dict:
    """Run the benchmark, print (and optionally write) the report.

    The last printed line is the ``ratios:`` line. Returns the results dict
    (also written as JSON with ``--out``).
    """
    args = parse_args(argv)
    args.default_threads = torch.get_num_threads()
    if args.threads is None and args.device == 'cpu':
        args.threads = 1
    import mmdet_clipjoint  # noqa: F401
    from mmdet.utils import register_all_modules
    from mmengine.logging import MMLogger
    register_all_modules()
    logger = MMLogger.get_current_instance()
    log_level = logger.level
    logger.setLevel('WARNING')  # init_weights logs every parameter
    try:
        if args.threads:
            torch.set_num_threads(args.threads)
        results = run(args, argv)
    finally:  # in-process callers (tests) get their settings back
        torch.set_num_threads(args.default_threads)
        logger.setLevel(log_level)
    text = markdown(results)
    if args.out:
        prefix = re.sub(r'\.(md|json)$', '', args.out)
        d = osp.dirname(prefix)
        if d:
            os.makedirs(d, exist_ok=True)
        with open(prefix + '.md', 'w') as f:
            f.write(text)
        with open(prefix + '.json', 'w') as f:
            json.dump(results, f, indent=1)
    print()
    print(text.rstrip('\n').rsplit('\n', 1)[0])
    print(f"(wall time {results['wall_s']:.1f} s)")
    print(results['ratios_line'], flush=True)
    return results


if __name__ == '__main__':
    main()
