# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""tools/benchmark_speed.py: a tiny in-process run (64 px, 1 repetition)
and its helpers in mmdet_clipjoint.benchmark. Checks the structure of the report and that the final
``ratios:`` line parses -- never timings."""
import json
import math
import os.path as osp
import re

import pytest
import torch

from mmdet.utils import register_all_modules
from mmdet_clipjoint.benchmark import (speed, speed_detectors, speed_report,
                                       timing)

from ..helpers import load_script

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
register_all_modules()
RATIOS_RE = re.compile(
    r'ratios: frcnn det=(\S+) fuse=(\S+) train=(\S+) \| '
    r'rtmdet det=(\S+) fuse=(\S+) train=(\S+) \| '
    r'yolo11 det=(\S+) fuse=(\S+) train=(\S+) \| '
    r'yolox det=(\S+) fuse=(\S+) train=(\S+)')
NUM_RE = re.compile(r'(\d+\.\d{3}|nan)')


@pytest.fixture(scope='module')
def tool():
    return load_script('tools/benchmark_speed.py')


def available():
    return [k for k, s in speed_detectors.SPEED_DETECTORS.items()
            if osp.isfile(osp.join(ROOT, s['clipjoint']))]


def test_tiny_run_report_structure(tool, tmp_path, capsys):
    dets = available()
    assert 'frcnn' in dets
    threads = torch.get_num_threads()
    res = tool.main([
        '--quick', '--img-size', '64', '--reps', '1', '--train-reps', '1',
        '--warmup', '0',
        # every location embedded in clip / fuse mode: with random weights
        # none could reach score_thr, and the sparse default embeds none
        '--aa', '--dense-fuse', '--out', str(tmp_path / 'speed'),
        '--detectors', *dets
    ])
    assert torch.get_num_threads() == threads  # restored for other tests

    # the last printed line: exactly the documented form, 3 decimals
    last = capsys.readouterr().out.strip().splitlines()[-1]
    m = RATIOS_RE.fullmatch(last)
    assert m, last
    assert all(NUM_RE.fullmatch(g) for g in m.groups()), last
    parsed = speed_report.parse_ratios_line(last)
    assert set(parsed) == {'frcnn', 'rtmdet', 'yolo11', 'yolox'}
    for key, vals in parsed.items():
        assert set(vals) == {'det', 'fuse', 'train'}
        for v in vals.values():
            assert (v > 0) if key in dets else math.isnan(v)
    assert last == res['ratios_line']

    for key in dets:
        r = res['detectors'][key]
        assert r['det_equals_stock'] is True
        assert r['clipjoint_only_keys'] > 0
        assert r['params']['clipjoint'] > r['params']['stock']
        bs1 = r['infer']['bs1']
        assert set(bs1) == {'stock', 'stock_aa', 'det', 'clip', 'fuse'}
        for v, e in bs1.items():
            assert e['time']['n'] == 1 and e['time']['median'] > 0
            assert e['cpu_time']['n'] == 1
            assert ('ratio' in e) == (v != 'stock')
        assert parsed[key]['det'] == pytest.approx(
            bs1['det']['ratio']['median'], abs=5e-4)
        assert set(r['train']) == {'batch', 'stock', 'stock_aa', 'clipjoint'}
        assert r['train']['clipjoint']['ratio']['n'] == 1
        # FLOPs: det mode runs exactly the stock computation, fuse more
        f = r['flops']
        assert f['det'] == f['stock'] > 0
        assert f['fuse'] > f['stock'] and f['clip'] > f['stock']
        mem = r['memory']
        assert set(mem['infer_bs1']) == {'stock', 'det', 'clip', 'fuse'}
        assert set(mem['train']) == {'stock', 'clipjoint'}
        if osp.exists('/proc/self/clear_refs'):
            assert all(v is not None and v >= 0 for v in mem['train'].values())

    md = (tmp_path / 'speed.md').read_text()
    assert md.rstrip().splitlines()[-1] == last
    assert '| ClipJoint fuse |' in md
    saved = json.loads((tmp_path / 'speed.json').read_text())
    assert saved['ratios_line'] == last
    assert saved['settings']['img_size'] == 64
    assert saved['settings']['dense_fuse'] is True
    assert saved['environment']['torch'] == torch.__version__


def test_text_bank_timing_structure(tool, tmp_path):
    from ..helpers import register_tiny_clip
    name = register_tiny_clip(tmp_path)
    out = speed.bench_text_bank(str(tmp_path), clip_model=name,
                                text_classes=3, text_templates=(1, 2),
                                log=lambda *a: None)
    assert out['classes'] == 3
    for k in ('build_s', 'encode_T1_s', 'encode_T2_s', 'cached_first_call_s',
              'cached_second_call_s'):
        assert out[k] >= 0, k
    assert out['cache_consistent'] is True


def test_helpers():
    s = timing.summarize([3.0, 1.0, 2.0, 4.0])
    assert s['median'] == 2.5 and s['min'] == 1.0 and s['max'] == 4.0
    assert s['q1'] <= s['median'] <= s['q3'] and s['n'] == 4
    assert math.isnan(timing.summarize([])['median'])
    assert timing.paired_ratios([2.0, 3.0], [1.0, 2.0]) == [2.0, 1.5]

    # interleaving: every function once per round, the order rotates
    calls = []
    times = timing.interleaved({n: (lambda n=n: calls.append(n))
                              for n in 'abc'}, reps=2, warmup=1,
                             device='cpu')
    assert calls == list('abcbcacab')
    assert all(len(v) == 2 for v in times['wall'].values())

    speed.check_shared_keys([], ['roi_head.bbox_head.text_bank.embeddings'])
    with pytest.raises(AssertionError, match='lacks'):
        speed.check_shared_keys(['backbone.conv1.weight'], [])
    with pytest.raises(AssertionError, match='ClipJoint-specific'):
        speed.check_shared_keys([], ['roi_head.bbox_head.fc_other.weight'])

    line = speed_report.ratios_line(dict(settings=dict(batches=[1]), detectors={}))
    assert RATIOS_RE.fullmatch(line)
    assert all(math.isnan(v) for d in speed_report.parse_ratios_line(line).values()
               for v in d.values())


@pytest.mark.parametrize('key', ['yolox'])
def test_kept_fraction_calibration(key, tmp_path):
    """--kept-fraction: the same bias shift in every model, the wanted share
    of locations over score_thr, det mode still equal to stock, and the
    sparse fused detections equal to the dense ones."""
    pair = speed.build_pair(speed_detectors.SPEED_DETECTORS[key], True,
                            'cpu', str(tmp_path), modes=('det', 'fuse'))
    models = pair['models']
    data = speed.make_batch(1, 96)
    calib = speed.calibrate_kept_fraction(models, data, 0.1)
    assert calib is not None and calib['biases']
    assert abs(calib['fraction'] - 0.1) <= 4.0 / calib['locations']
    a, b = (dict(models[k].bbox_head.named_parameters()) for k in
            ('stock', 'fuse'))
    for n in calib['biases']:
        assert torch.equal(a[n], b[n])
    with torch.no_grad():
        stock, det = (models[k].test_step(data) for k in ('stock', 'det'))
        assert speed._same_predictions(stock, det)
        sparse = models['fuse'].test_step(data)
        models['fuse'].bbox_head.sparse_fuse = False
        dense = models['fuse'].test_step(data)
    assert len(sparse[0].pred_instances) > 0
    assert speed._same_predictions(sparse, dense)


def test_kept_fraction_refuses_tied_scores(tmp_path):
    """RTMDet's randomly initialised trunk gives one score per level: no
    bias shift keeps 10 %, and the calibration says so."""
    pair = speed.build_pair(speed_detectors.SPEED_DETECTORS['rtmdet'], True,
                            'cpu', str(tmp_path), modes=('fuse', ))
    with pytest.raises(RuntimeError, match='tie across locations'):
        speed.calibrate_kept_fraction(pair['models'], speed.make_batch(1, 96),
                                      0.1)


def test_kept_fraction_bad_values(tool):
    with pytest.raises(SystemExit):
        tool.parse_args(['--kept-fraction', '0'])
    with pytest.raises(SystemExit):
        tool.parse_args(['--kept-fraction', '0.1', '--dense-fuse'])


def test_kept_fraction_touches_only_the_score_convs(tmp_path):
    """YOLO11's class branch has C-wide normalisation layers (c3 =
    max(P3 channels, min(C, 100))): only the final class convolutions'
    biases may be shifted."""
    pair = speed.build_pair(speed_detectors.SPEED_DETECTORS['yolo11'], True,
                            'cpu', str(tmp_path), modes=('fuse', ))
    head = pair['models']['fuse'].bbox_head
    names = speed._score_biases(head)
    modules = dict(head.named_modules())
    assert len(names) == len(head.cls_preds)
    for n in names:
        m = modules[n[:-len('.bias')]]
        assert isinstance(m, torch.nn.Conv2d)
        assert m.out_channels == head.num_classes


def test_settings_resolve_the_presets_and_check_the_options():
    quick = speed_detectors.SPEED_PRESETS['quick']
    s = speed.speed_settings('quick', img_size=64, reps=None, modes=('det', ))
    assert s['img_size'] == 64 and s['reps'] == quick['reps']
    assert s['modes'] == ['det'] and s['preset'] == 'quick' and s['quick']
    assert s['text_classes'] == speed_detectors.SPEED_DEFAULTS['text_classes']
    for bad, message in [(dict(kept_fraction=0), r'must be in \(0, 1\]'),
                         (dict(kept_fraction=0.1, dense_fuse=True),
                          'use one'),
                         (dict(repz=3), 'unknown speed benchmark options'),
                         (dict(modes=['dense']), 'choose from')]:
        with pytest.raises(ValueError, match=message):
            speed.speed_settings('quick', **bad)
    with pytest.raises(ValueError, match='unknown speed preset'):
        speed.speed_settings('fast')


def test_library_run_with_keyword_arguments(tmp_path):
    """The benchmark as a library call: presets resolved, results written,
    the report logged with the ratios line last."""
    lines = []
    res = speed.run_speed_benchmark(
        'quick', detectors=['rtmdet'], out=str(tmp_path / 'speed.json'),
        img_size=64, reps=1, warmup=0, train=False, memory=False,
        flops=False, modes=['det'], log=lines.append)
    assert lines[-1] == res['ratios_line']
    assert speed_report.parse_ratios_line(lines[-1])['rtmdet']['det'] > 0
    assert res['command'].startswith("run_speed_benchmark('quick'")
    assert res['settings']['reps'] == 1 and res['settings']['threads'] == 1
    assert res['settings']['batches'] == \
        speed_detectors.SPEED_PRESETS['quick']['batches']
    saved = json.loads((tmp_path / 'speed.json').read_text())
    assert saved['ratios_line'] == res['ratios_line']
    assert (tmp_path / 'speed.md').read_text().rstrip().endswith(
        res['ratios_line'])


def test_report_does_not_import_the_measurements():
    """speed_report reads the tables of speed_detectors, not speed (which
    imports the report): no import circle."""
    import ast
    import inspect
    tree = ast.parse(inspect.getsource(speed_report))
    imported = {n.module for n in ast.walk(tree)
                if isinstance(n, ast.ImportFrom)}
    assert 'speed' not in imported and 'speed_detectors' in imported
