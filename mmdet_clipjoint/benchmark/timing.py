# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Measurement primitives of the speed benchmark: interleaved wall-clock and
CPU timing, peak memory of one call (CUDA allocator or the process's peak
RSS), FLOPs, per-op profiles, and their statistics (median, quartiles,
per-repetition ratios) and formatting."""
import contextlib
import ctypes
import gc
import math
import os.path as osp
import time
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np
import torch

__all__ = [
    'summarize', 'paired_ratios', 'fmt_ms', 'fmt_ratio', 'fmt_num', 'sync',
    'timed', 'interleaved', 'timing_entry', 'peak_memory', 'count_flops',
    'op_profile', 'profile_diff', 'num_params'
]


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
