# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""The speed benchmark's report: the environment it ran in, the markdown
tables and the final ``ratios:`` line (and its parser)."""
import contextlib
import datetime
import os
import platform
import re
from typing import Dict

import torch

from .speed_detectors import SCORE_MODES, SPEED_DETECTORS
from .timing import fmt_ms, fmt_num, fmt_ratio

__all__ = ['environment', 'ratios_line', 'parse_ratios_line', 'markdown']


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
    for key in SPEED_DETECTORS:
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
