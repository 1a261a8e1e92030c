# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Paired comparisons of two methods over training seeds.

Runs that share a seed share data, label stress and initialisation, so the
per-seed difference of two methods is a sharper comparison than two
overlapping mean +- std. :func:`paired_diff` gives the mean difference with
a Student-t confidence interval and a verdict that calls a difference a win
or a loss only when the interval excludes zero (docs/benchmark_accuracy.md;
used by ``tools/benchmark_accuracy.py`` and
``tools/analysis_tools/paired_ablation.py``).
"""
import math
from typing import Dict, Hashable, Mapping, Optional

import numpy as np

__all__ = ['t_quantile', 'paired_diff', 'format_paired']

# two-sided 95 % Student-t quantiles t_{0.975, df} for df = 1 .. 30
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262,
         2.228, 2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101,
         2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052,
         2.048, 2.045, 2.042)
# larger df: (df, t_{0.975, df}), then the normal quantile
_T975_LARGE = ((40, 2.021), (60, 2.000), (120, 1.980))


def _scipy_t_ppf(q: float, df: int) -> Optional[float]:
    try:
        from scipy.stats import t
    except ImportError:
        return None
    return float(t.ppf(q, df))


def t_quantile(df: int, confidence: float = 0.95) -> float:
    """Two-sided Student-t quantile ``t_{(1 + confidence) / 2, df}``.

    Uses scipy when it is installed; otherwise a table (95 % only; df
    between table entries takes the next smaller tabled df, i.e. the wider
    interval).

    Args:
        df: Degrees of freedom (>= 1), ``n - 1`` for ``n`` paired seeds.
        confidence: Coverage of the interval.

    Returns:
        float: e.g. 4.303 for ``df=2`` at 95 %.
    """
    if df < 1:
        raise ValueError(f'df={df}: a t interval needs at least 2 values')
    if not 0 < confidence < 1:
        raise ValueError(f'confidence={confidence} must be in (0, 1)')
    q = _scipy_t_ppf(0.5 + confidence / 2, df)
    if q is not None:
        return q
    if abs(confidence - 0.95) > 1e-9:
        raise ImportError('t quantiles other than 95 % need scipy')
    if df <= len(_T975):
        return _T975[df - 1]
    best = _T975[-1]
    for d, v in _T975_LARGE:
        if df >= d:
            best = v
    return best if df < 1000 else 1.960


def paired_diff(a_by_seed: Mapping[Hashable, float],
                b_by_seed: Mapping[Hashable, float],
                confidence: float = 0.95) -> Dict:
    """Difference ``a - b`` paired by seed, with a t confidence interval.

    Only seeds present in both mappings are paired.

    Args:
        a_by_seed: ``{seed: value}`` of method a (e.g. ClipJoint's mAP).
        b_by_seed: ``{seed: value}`` of method b (e.g. the stock mAP).
        confidence: Coverage of the interval (default 95 %).

    Returns:
        dict: ``mean`` (mean difference), ``sd`` (its sample standard
        deviation, ``ddof=1``), ``lo`` / ``hi`` (``mean -+ t * sd /
        sqrt(n)``, with ``t`` the two-sided Student-t quantile of ``n - 1``
        degrees of freedom), ``n`` (paired seeds), ``seeds`` (sorted),
        ``diffs`` (per seed, same order), ``wins`` (seeds with ``a > b``)
        and ``verdict``: ``'win'`` when ``lo > 0``, ``'loss'`` when
        ``hi < 0``, ``'tie'`` otherwise (also for one seed, where no
        interval exists: ``lo`` / ``hi`` are NaN), ``'n/a'`` without a
        paired seed.
    """
    seeds = sorted(set(a_by_seed) & set(b_by_seed), key=repr)
    diffs = [float(a_by_seed[s]) - float(b_by_seed[s]) for s in seeds]
    n = len(diffs)
    out = dict(n=n, seeds=seeds, diffs=diffs,
               wins=sum(d > 0 for d in diffs), mean=math.nan, sd=math.nan,
               lo=math.nan, hi=math.nan, verdict='n/a')
    if n == 0:
        return out
    mean = float(np.mean(diffs))
    out.update(mean=mean, verdict='tie')
    if n == 1:
        return out
    sd = float(np.std(diffs, ddof=1))
    half = t_quantile(n - 1, confidence) * sd / math.sqrt(n)
    out.update(sd=sd, lo=mean - half, hi=mean + half)
    if out['lo'] > 0:
        out['verdict'] = 'win'
    elif out['hi'] < 0:
        out['verdict'] = 'loss'
    return out


def format_paired(d: Dict, scale: float = 100.0, digits: int = 1,
                  lower_is_better: bool = False) -> str:
    """One table cell for a :func:`paired_diff` result.

    Example: ``'+2.0 [-2.3, +6.3] 3/3 tie'`` (mean, interval, seeds where
    a > b out of the paired seeds, verdict); one seed: ``'+2.0 1/1 (1
    seed)'``; no paired seed: ``'n/a'``.

    Args:
        d: Output of :func:`paired_diff`.
        scale: Multiplier of the values (100 for AP in percent).
        digits: Decimals.
        lower_is_better: For a cost (an error or rename rate): the count is
            of seeds where ``a < b`` and ``'win'`` / ``'loss'`` swap (a
            win when the interval lies below 0).
    """
    if d['n'] == 0:
        return 'n/a'
    f = f'{{:+.{digits}f}}'
    head = f.format(scale * d['mean'])
    wins, verdict = d['wins'], d['verdict']
    if lower_is_better:
        wins = sum(x < 0 for x in d['diffs'])
        verdict = {'win': 'loss', 'loss': 'win'}.get(verdict, verdict)
    if d['n'] == 1:
        return f'{head} {wins}/1 (1 seed)'
    return (f'{head} [{f.format(scale * d["lo"])}, '
            f'{f.format(scale * d["hi"])}] {wins}/{d["n"]} {verdict}')
