# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""mmdet_clipjoint.benchmark.accuracy_report and the run locks of
mmdet_clipjoint.benchmark.accuracy: tables from hand-made run records."""
import os
import os.path as osp
import subprocess
import sys

import pytest

from mmdet_clipjoint.benchmark import accuracy_report
from mmdet_clipjoint.benchmark import presets as benchmark_presets
from mmdet_clipjoint.utils.file_lock import LockTimeout, exclusive_lock

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_workers_share_runs_through_locks(tmp_path):
    """The benchmark's workers claim a run with a lock that does not wait
    (``exclusive_lock(timeout=0)``): held by a live worker -> skipped."""
    lock = str(tmp_path / 'run.json.lock')

    def claim():
        try:
            with exclusive_lock(lock, timeout=0):
                assert open(lock).read() == str(os.getpid())
                # held by a live process (this one): another worker skips
                with pytest.raises(LockTimeout):
                    with exclusive_lock(lock, timeout=0):
                        pass
            return True
        except LockTimeout:
            return False

    assert claim()  # free: taken, holds our pid, released afterwards
    assert not osp.exists(lock)
    # a killed worker's lock is stale: taken over
    dead = subprocess.run([sys.executable, '-c',
                           'import os; print(os.getpid())'],
                          capture_output=True, text=True).stdout.strip()
    with open(lock, 'w') as f:
        f.write(dead)
    assert claim()
    # a live holder's lock (this process wrote it) is not taken
    with open(lock, 'w') as f:
        f.write(str(os.getpid()))
    assert not claim()
    # the benchmark uses exactly this lock for its runs
    src = open(osp.join(REPO_ROOT, 'mmdet_clipjoint', 'benchmark',
                        'accuracy.py')).read()
    assert "exclusive_lock(path + '.lock', timeout=0)" in src


def test_report_states_instances_per_setting(synthetic_coco):
    runs = [dict(setting='imbalanced', train_stats=dict(
                 class_counts=[3, 2, 1])),
            dict(setting='imbalanced', train_stats=dict(
                 class_counts=[4, 2, 1])),
            dict(setting='clean', train_stats={})]
    clean = sum(benchmark_presets.count_instances(synthetic_coco))
    line = accuracy_report.instances_line(runs, synthetic_coco)
    assert line == (f'clean {clean}, imbalanced 6-7 '
                    f'({100 * 6.5 / clean:.0f} %)')
    summ = accuracy_report.summarise(
        {'coco/bbox_mAP': 0.5, 'coco/bbox_mAP_50': 0.7,
         'coco/a_precision': 0.2, 'coco/b_precision': 0.4,
         'coco/c_precision': float('nan')},
        ['a', 'b', 'c'], rare=['b', 'c'])
    assert summ['AP_rare'] == pytest.approx(0.2)  # (0.4 + 0) / 2


def test_paired_differences_use_the_same_seed():
    paired = accuracy_report.paired_lines

    def rec(method, seed, m):
        return dict(detector='rtmdet', method=method, setting='clean',
                    seed=seed, summary=dict(mAP=m, AP_rare=m / 2))

    # seed 1's stock is far better than seed 0's: only pairing by seed
    # shows that ClipJoint is ahead on both
    runs = [rec('stock', 0, 0.10), rec('stock', 1, 0.30),
            rec('clipjoint', 0, 0.12), rec('clipjoint', 1, 0.31),
            rec('clipjoint', 2, 0.50)]  # no stock run of seed 2: unpaired
    lines = paired(runs, ['clean'])
    row = [x for x in lines if x.startswith('| RTMDet-tiny | ClipJoint |')]
    # diffs 0.02 and 0.01: mean 1.5, t_{0.975,1} * sd / sqrt(2) = 6.4
    assert row == ['| RTMDet-tiny | ClipJoint | +1.5 [-4.9, +7.9] 2/2 tie | '
                   '+0.8 [-2.4, +3.9] 2/2 tie |']
    assert paired([r for r in runs if r['method'] == 'stock'],
                  ['clean']) == []
    # ClipJoint is also paired with the long-tail peers, seed by seed
    frcnn = [dict(r, detector='frcnn') for r in runs] + [
        dict(detector='frcnn', method='seesaw', setting='clean', seed=s,
             summary=dict(mAP=m, AP_rare=0.0))
        for s, m in ((0, 0.11), (1, 0.27))]
    lines = paired(frcnn, ['clean'])
    assert '### ClipJoint minus the long-tail peers, paired by seed (x 100)' \
        in lines
    row = [x for x in lines if x.startswith('| Faster R-CNN | ClipJoint − ')]
    # diffs 0.01 and 0.04: mean 2.5, half width 12.706 * 2.12 / sqrt(2)
    assert row[0].startswith('| Faster R-CNN | ClipJoint − Seesaw | +2.5 ')
    assert row[0].count('2/2') == 2


def test_the_centred_remedy_is_paired_with_its_controls():
    def rec(method, seed, m):
        return dict(detector='rtmdet', method=method, setting='imbalanced',
                    seed=seed, summary=dict(mAP=m, AP_rare=m))

    runs = [rec('clipjoint-centred', 0, 0.20), rec('clipjoint-centred', 1,
                                                   0.30),
            rec('clipjoint-centred-permuted', 0, 0.10),
            rec('clipjoint-centred-permuted', 1, 0.26),
            rec('clipjoint-random-text', 0, 0.25)]
    lines = accuracy_report.paired_lines(runs, ['imbalanced'])
    head = ('### The remedy clipjoint-centred minus its controls, paired by '
            'seed (x 100)')
    assert head in lines
    rows = lines[lines.index(head) + 6:]
    # diffs +10 and +4 (x 100): mean +7, t_{0.975,1} * 4.24 / sqrt(2) = 38.1
    assert rows[0] == ('| RTMDet-tiny | clipjoint-centred − '
                       'clipjoint-centred-permuted | +7.0 [-31.1, +45.1] '
                       '2/2 tie | +7.0 [-31.1, +45.1] 2/2 tie |')
    # one common seed: no interval
    assert rows[1] == ('| RTMDet-tiny | clipjoint-centred − '
                       'clipjoint-random-text | -5.0 0/1 (1 seed) | '
                       '-5.0 0/1 (1 seed) |')


def test_paired_ablation_table_pairs_variant_with_both_twins():
    def rec(method, seed, m, fuse=None):
        r = dict(detector='frcnn', method=method, setting='clean', seed=seed,
                 summary=dict(mAP=m), score_modes={})
        if fuse is not None:
            r['score_modes']['fuse'] = dict(mAP=fuse)
        return r

    main = [rec('stock', 0, 0.10), rec('stock', 1, 0.20),
            rec('clipjoint', 0, 0.05), rec('clipjoint', 1, 0.15)]
    variant = [rec('clipjoint-w0.25', 1, 0.25, fuse=0.2),
               rec('clipjoint-w0.25', 0, 0.08, fuse=0.1),
               rec('clipjoint-w0.25', 7, 0.9)]  # seed 7 has no twins
    lines = accuracy_report.ablation_table(main, variant)
    # paired by seed: var - stock = -2, +5; var - ClipJoint = +3, +10
    # (x 100); half width t_{0.975,1} * sd / sqrt(2) = 12.706 * 3.5 = 44.5
    assert lines[2:] == [
        '| Faster R-CNN | clipjoint-w0.25 | clean | 0,1 | 15.0 ± 5.0 | '
        '10.0 ± 5.0 | 16.5 ± 8.5 | +1.5 [-43.0, +46.0] 1/2 tie | '
        '+6.5 [-38.0, +51.0] 2/2 tie | 15.0 ± 5.0 |'
    ]


def test_per_class_table_means_over_common_seeds():
    from mmdet_clipjoint.benchmark.accuracy_report import per_class_table

    def rec(method, seed, a, b):
        return dict(method=method, seed=seed, setting='imbalanced',
                    detector='rtmdet',
                    metrics={'coco/a_precision': a, 'coco/b_precision': b})

    runs = [rec('stock', 0, 0.5, 0.1), rec('stock', 1, 0.3, 0.2),
            rec('clipjoint', 0, 0.4, 0.3), rec('clipjoint', 1, 0.2, 0.3),
            rec('clipjoint', 2, 0.9, 0.9)]  # seed 2: no stock run, left out
    lines = per_class_table(runs, ['a', 'b'], ['stock', 'clipjoint'],
                            'imbalanced', 'rtmdet', rare=['b'])
    assert lines[2] == '| a | 40.0 | 30.0 | -10.0 (0/2) |'
    assert lines[3] == '| **b** | 15.0 | 30.0 | +15.0 (2/2) |'
    with pytest.raises(ValueError, match='no seed'):
        per_class_table(runs, ['a'], ['stock', 'clipjoint'], 'clean',
                        'rtmdet')


def test_score_modes_are_paired_with_stock_on_rare_ap():
    """Each ClipJoint score mode (same checkpoint) is compared with the
    stock detector of the same seed, rare AP first: a remedy that acts only
    at inference (clip / fuse scoring) is judged where it acts."""
    def rec(method, seed, m, rare, modes=None):
        r = dict(detector='frcnn', method=method, setting='imbalanced',
                 seed=seed, summary=dict(mAP=m, mAP50=m, AP_rare=rare))
        if modes:
            r['score_modes'] = modes
        return r

    def summ(m, rare):
        return dict(mAP=m, mAP50=m, AP_rare=rare)

    runs = [rec('stock', 0, 0.30, 0.02), rec('stock', 1, 0.20, 0.04),
            rec('clipjoint-balanced', 0, 0.30, 0.02,
                dict(default=summ(0.30, 0.02), fuse=summ(0.31, 0.08),
                     clip=summ(0.29, 0.12))),
            rec('clipjoint-balanced', 1, 0.21, 0.04,
                dict(default=summ(0.21, 0.04), fuse=summ(0.22, 0.12),
                     clip=summ(0.20, 0.14)))]
    modes = {('frcnn', 'clipjoint-balanced', 'imbalanced'): {
        k: [r['score_modes'][k] for r in runs[2:]]
        for k in ('default', 'fuse', 'clip')}}
    lines = accuracy_report._mode_lines(runs, modes)
    assert ('| Faster R-CNN | clipjoint-balanced | imbalanced | 25.5 / 3.0 | '
            '26.5 / 10.0 | 24.5 / 13.0 |') in lines
    head = [i for i, x in enumerate(lines) if 'minus the stock' in x]
    assert len(head) == 1
    rows = [x for x in lines[head[0]:] if x.startswith('| Faster R-CNN')]
    assert [r.split(' | ')[3] for r in rows] == ['det (default)', 'fuse',
                                                  'clip']
    # clip: rare diffs +10 and +10 -> +10.0, zero spread -> a win; mAP
    # diffs -1 and 0 -> -0.5, 0/2 ahead, a tie
    assert rows[2] == ('| Faster R-CNN | clipjoint-balanced | imbalanced | '
                       'clip | +10.0 [+10.0, +10.0] 2/2 win | '
                       '-0.5 [-6.9, +5.9] 0/2 tie |')
    # the remedy minus its control in each mode, paired by seed
    ctrl = [rec('clipjoint-balanced-random-text', s, 0.3, 0.0,
                dict(default=summ(0.3, 0.0), fuse=summ(0.3, 0.06 + s / 100),
                     clip=summ(0.3, 0.0))) for s in (0, 1)]
    lines = accuracy_report._mode_lines(runs + ctrl, modes)
    head = lines.index('### The remedies minus their controls, each score '
                       'mode, paired by seed (x 100)')
    rows = lines[head + 4:]
    assert len(rows) == 3  # det, fuse, clip
    # fuse: rare 0.08 - 0.06 and 0.12 - 0.07 -> +2.0 and +5.0
    assert rows[1].startswith('| Faster R-CNN | clipjoint-balanced − '
                              'clipjoint-balanced-random-text | imbalanced '
                              '| fuse | +3.5 [')
    assert not any('remedies minus' in x
                   for x in accuracy_report._mode_lines(runs, modes))
    # the branch's modes minus a long-tail peer (fuse and clip only)
    seesaw = [rec('seesaw', s, 0.3, 0.15) for s in (0, 1)]
    lines = accuracy_report._mode_lines(runs + seesaw, modes)
    head = lines.index('### ClipJoint score modes minus the long-tail peers,'
                       ' paired by seed (x 100)')
    rows = lines[head + 4:head + 6]
    # fuse rare: 0.08 - 0.15, 0.12 - 0.15 -> -5.0; clip: -3.0 and -1.0
    assert rows[0].startswith('| Faster R-CNN | clipjoint-balanced − Seesaw '
                              '| imbalanced | fuse | -5.0 [')
    assert rows[1].startswith('| Faster R-CNN | clipjoint-balanced − Seesaw '
                              '| imbalanced | clip | -2.0 [')
    assert lines[head + 6:] == []  # det mode: in the main peers table
    # no stock run: the mode means only, no paired table
    alone = accuracy_report._mode_lines(runs[2:], modes)
    assert not any('minus the stock' in x for x in alone)
    assert accuracy_report._mode_lines(runs, {}) == []
