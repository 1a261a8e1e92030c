# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""tools/benchmark_zero_shot.py --report-only: tables the finished runs,
trains nothing, and says clearly when there is nothing to table."""
import json
import os
import os.path as osp
import runpy

import pytest

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(REPO_ROOT, 'tools', 'benchmark_zero_shot.py')


def _record(arm, seed, ap_novel):
    return dict(detector='rtmdet', arm=arm, seed=seed, iters=1,
                seconds=1.0, novel=['bus'],
                summary=dict(AP_novel=ap_novel, AP_base=0.2, mAP=0.15),
                metrics={})


def test_report_only(tmp_path, capsys):
    mod = runpy.run_path(TOOL)
    out = str(tmp_path / 'zs')
    # (the script's run_main turns the ValueError into 'error: ...')
    with pytest.raises(ValueError, match='no finished zero-shot runs'):
        mod['main'](['--preset', 'semantic-smoke', '--out', out,
                     '--report-only'])
    assert not osp.exists(osp.join(out, 'data'))  # nothing generated
    os.makedirs(osp.join(out, 'zeroshot_runs'))
    for arm, ap in (('clip', 0.01), ('centred', 0.04), ('permuted', 0.0)):
        with open(osp.join(out, 'zeroshot_runs',
                           f'rtmdet_zs-{arm}_s0.json'), 'w') as f:
            json.dump(_record(arm, 0, ap), f)
    recs = mod['main'](['--preset', 'semantic-smoke', '--out', out,
                        '--arms', 'clip', 'centred', 'permuted', 'frozen',
                        '--seeds', '0', '--report-only'])
    assert [r['arm'] for r in recs] == ['clip', 'centred', 'permuted']
    assert 'rtmdet_zs-frozen_s0' in capsys.readouterr().out  # named missing
    md = open(osp.join(out, 'zeroshot.md')).read()
    assert '| centred | 1 | 4.0 ± 0.0 |' in md
    assert 'Minus the learnable CLIP bank (clip)' in md
    assert not osp.exists(osp.join(out, 'data'))
