# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Paired differences by seed: t-interval and verdict arithmetic."""
import math

import pytest

from mmdet_clipjoint.benchmark import stats
from mmdet_clipjoint.benchmark.stats import format_paired, paired_diff, t_quantile


def test_known_interval():
    # diffs 1, 2, 3: mean 2, sd 1, t_{0.975, 2} = 4.303
    d = paired_diff({0: 11, 1: 12, 2: 13}, {0: 10, 1: 10, 2: 10})
    assert d['n'] == 3 and d['seeds'] == [0, 1, 2]
    assert d['diffs'] == [1, 2, 3]
    assert d['mean'] == pytest.approx(2)
    assert d['sd'] == pytest.approx(1)
    half = 4.303 / math.sqrt(3)
    assert d['lo'] == pytest.approx(2 - half, abs=1e-3)
    assert d['hi'] == pytest.approx(2 + half, abs=1e-3)
    assert d['wins'] == 3
    # every seed ahead, yet the interval holds 0: a tie, not a win
    assert d['verdict'] == 'tie'


@pytest.mark.parametrize('diffs,verdict', [
    ([1.0, 1.1, 0.9], 'win'),
    ([-1.0, -1.1, -0.9, -1.2], 'loss'),
    ([1.0, -1.0, 0.5], 'tie'),
    ([0.0, 0.0], 'tie'),
])
def test_verdict_needs_the_interval_to_exclude_zero(diffs, verdict):
    d = paired_diff(dict(enumerate(diffs)), {k: 0.0 for k in range(9)})
    assert d['verdict'] == verdict
    assert d['lo'] <= d['mean'] <= d['hi']
    if verdict == 'win':
        assert d['lo'] > 0
    if verdict == 'loss':
        assert d['hi'] < 0


def test_pairs_by_seed_only():
    # seed 1's b is far better than seed 0's: only pairing shows a > b on
    # both; seeds 2 (only in a) and 3 (only in b) are left out
    a = {0: 0.12, 1: 0.31, 2: 0.50}
    b = {1: 0.30, 0: 0.10, 3: 0.0}
    d = paired_diff(a, b)
    assert d['seeds'] == [0, 1] and d['n'] == 2
    assert d['diffs'] == pytest.approx([0.02, 0.01])
    assert d['mean'] == pytest.approx(0.015)
    # t_{0.975, 1} = 12.706, sd = 0.01 / sqrt(2)
    assert d['hi'] - d['mean'] == pytest.approx(12.706 * 0.005, rel=1e-3)
    assert d['wins'] == 2


def test_one_or_no_seed():
    one = paired_diff({0: 0.3}, {0: 0.1, 1: 0.2})
    assert one['n'] == 1 and one['mean'] == pytest.approx(0.2)
    assert math.isnan(one['lo']) and math.isnan(one['hi'])
    assert one['verdict'] == 'tie'
    none = paired_diff({0: 0.3}, {1: 0.1})
    assert none['n'] == 0 and none['verdict'] == 'n/a'
    assert format_paired(none) == 'n/a'
    assert format_paired(one) == '+20.0 1/1 (1 seed)'


def test_format():
    d = paired_diff({0: 0.11, 1: 0.12, 2: 0.13}, {0: 0.10, 1: 0.10, 2: 0.10})
    assert format_paired(d) == '+2.0 [-0.5, +4.5] 3/3 tie'
    d = paired_diff({0: 0.09, 1: 0.08}, {0: 0.10, 1: 0.10})
    assert format_paired(d, digits=2).startswith('-1.50 [')


def test_t_table_without_scipy(monkeypatch):
    monkeypatch.setattr(stats, '_scipy_t_ppf', lambda q, df: None)
    assert t_quantile(1) == 12.706
    assert t_quantile(2) == 4.303
    assert t_quantile(4) == 2.776
    assert t_quantile(35) == 2.042  # next smaller tabled df: wider
    assert t_quantile(100) == 2.000
    assert t_quantile(5000) == 1.960
    d = paired_diff({0: 1, 1: 2, 2: 3}, {0: 0, 1: 0, 2: 0})
    assert d['hi'] == pytest.approx(2 + 4.303 / math.sqrt(3))
    with pytest.raises(ImportError):
        t_quantile(3, confidence=0.9)
    with pytest.raises(ValueError):
        t_quantile(0)


def test_t_table_matches_scipy():
    pytest.importorskip('scipy')
    for df in range(1, 31):
        assert t_quantile(df) == pytest.approx(stats._T975[df - 1],
                                               abs=1e-3)
    assert t_quantile(4, confidence=0.9) == pytest.approx(2.132, abs=1e-3)


def test_format_paired_lower_is_better():
    """For a cost (a rename rate) fewer is ahead: a difference whose
    interval lies below 0 is a win, and the count is of seeds where a < b."""
    d = paired_diff({0: 0.1, 1: 0.2, 2: 0.15}, {0: 0.5, 1: 0.6, 2: 0.52})
    assert d['verdict'] == 'loss' and d['wins'] == 0
    assert format_paired(d).endswith('0/3 loss')
    assert format_paired(d, lower_is_better=True).endswith('3/3 win')
    tie = paired_diff({0: 0.1, 1: 0.5}, {0: 0.2, 1: 0.4})
    assert format_paired(tie, lower_is_better=True).endswith('1/2 tie')
