# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""benchmark_accuracy / demo plumbing: every method x setting builds, a tiny
run trains and reports, and the smoke preset runs end to end (opt-in)."""
import json
import os
import os.path as osp
import runpy
import subprocess
import sys

import pytest
from mmengine.runner import Runner

import mmdet_clipjoint  # noqa: F401
from mmdet_clipjoint.utils.experiments import (CLIPJOINT_VARIANTS, DETECTORS,
                                               REPO_ROOT, SETTINGS,
                                               build_experiment_cfg,
                                               run_experiment)

TOOLS = osp.join(REPO_ROOT, 'tools')


def available_methods():
    for det, spec in DETECTORS.items():
        if not osp.isfile(osp.join(REPO_ROOT, spec['clipjoint'])):
            continue
        for m in spec['methods']:
            yield det, m


@pytest.mark.parametrize('det,method', list(available_methods()))
@pytest.mark.parametrize('setting', list(SETTINGS))
def test_every_run_config_builds(det, method, setting, synthetic_coco,
                                 tmp_path):
    cfg = build_experiment_cfg(det, method, synthetic_coco, str(tmp_path),
                               setting, seed=1, max_iters=1)
    ds = cfg.train_dataloader.dataset
    types = []
    while isinstance(ds, dict):
        types.append(ds['type'])
        ds = ds.get('dataset')
    expect = {'clean': [], 'imbalanced': ['LongTailDataset'],
              'noisy': ['NoisyLabelDataset'],
              'both': ['NoisyLabelDataset', 'LongTailDataset']}[setting]
    assert types[:-1] == expect
    if method == 'seesaw':
        assert cfg.model.roi_head.bbox_head.loss_cls.type == 'SeesawLoss'
    if method in ('normed', 'seesaw'):
        assert cfg.model.roi_head.bbox_head.cls_predictor_cfg.type == \
            'NormedLinear'
    runner = Runner.from_cfg(cfg)
    assert len(runner.train_dataloader.dataset) > 0
    model_types = {type(m).__name__ for m in runner.model.modules()}
    assert ('ContrastiveTextBank' in model_types) == (method == 'clipjoint')


def _head(cfg, det):
    return cfg.model.roi_head.bbox_head if det == 'frcnn' else \
        cfg.model.bbox_head


@pytest.mark.parametrize('det', list(DETECTORS))
def test_clipjoint_variants_change_only_their_keys(det, synthetic_coco,
                                                   tmp_path):
    base = _head(build_experiment_cfg(det, 'clipjoint', synthetic_coco,
                                      str(tmp_path)), det)
    heads = {
        v: _head(build_experiment_cfg(det, v, synthetic_coco, str(tmp_path)),
                 det)
        for v in CLIPJOINT_VARIANTS
    }
    w = heads['clipjoint-w0.25']
    assert w.loss_contrast.loss_weight == 0.25
    assert w.loss_aux.loss_weight == 0.125
    # merged key by key: the rest of the loss config stays
    assert w.loss_aux.type == base.loss_aux.type
    assert w.loss_aux.use_sigmoid == base.loss_aux.use_sigmoid
    assert heads['clipjoint-no-aux'].loss_aux is None
    assert heads['clipjoint-tau0.2'].text_bank.temperature == 0.2
    assert heads['clipjoint-tau0.2'].text_bank.class_names == \
        base.text_bank.class_names
    assert heads['clipjoint-bg-none'].text_bank.background is None
    assert heads['clipjoint-proj128'].proj_hidden == 128
    assert heads['clipjoint-frozen-text'].text_bank.learnable is False
    assert heads['clipjoint'] == base
    # every variant builds into a model with the change applied
    for v in ('clipjoint-no-aux', 'clipjoint-bg-none'):
        cfg = build_experiment_cfg(det, v, synthetic_coco, str(tmp_path))
        from mmdet.registry import MODELS
        model = MODELS.build(cfg.model)
        head = model.roi_head.bbox_head if det == 'frcnn' else \
            model.bbox_head
        if v == 'clipjoint-no-aux':
            assert head.loss_aux is None
        else:
            assert not head.text_bank.with_background


def test_unknown_method_is_refused(synthetic_coco, tmp_path):
    with pytest.raises(ValueError, match='ClipJoint variant'):
        build_experiment_cfg('rtmdet', 'seesaw', synthetic_coco,
                             str(tmp_path))
    proc = subprocess.run(
        [sys.executable, osp.join(TOOLS, 'benchmark_accuracy.py'),
         '--methods', 'clipjoint-w9', '--out', str(tmp_path)],
        capture_output=True, text=True)
    assert proc.returncode != 0
    assert "unknown method 'clipjoint-w9'" in proc.stderr


def test_tiny_run_records_stats_and_score_modes(synthetic_coco, tmp_path):
    cfg = build_experiment_cfg('frcnn', 'clipjoint', synthetic_coco,
                               str(tmp_path), 'both', seed=0, max_iters=2,
                               img_size=128)
    res = run_experiment(cfg, score_modes=('det', 'clip'))
    assert set(res) == {'default', 'det', 'clip', 'train_stats'}
    stats = res['train_stats']
    assert len(stats['noise_matrix']) == len(synthetic_coco['classes'])
    assert sum(stats['class_counts']) == sum(map(sum,
                                                 stats['noise_matrix']))


def test_benchmark_cli_writes_table_and_plot(tmp_path):
    out = str(tmp_path / 'bench')
    argv = ['--preset', 'smoke', '--detectors', 'frcnn', '--methods',
            'stock', 'clipjoint-no-aux', '--settings', 'clean', '--iters',
            '1', '--out', out]
    sys.path.insert(0, TOOLS)
    try:
        mod = runpy.run_path(osp.join(TOOLS, 'benchmark_accuracy.py'),
                             run_name='bench')
        runs = mod['main'](argv)
    finally:
        sys.path.remove(TOOLS)
    assert [r['method'] for r in runs] == ['stock', 'clipjoint-no-aux']
    assert set(runs[1]['score_modes']) == {'default', 'fuse', 'clip'}
    assert not runs[0]['score_modes']
    # checkpoints are deleted once the run is evaluated; logs stay
    files = [f for _, _, fs in os.walk(out) for f in fs]
    assert not [f for f in files if f.endswith('.pth')]
    assert [f for f in files if f.endswith('.log')]
    # each run logs its scalars into its own work_dir
    for r in runs:
        name = f'frcnn_{r["method"]}_clean_s0'
        found = [osp.join(root, f) for root, _, fs in
                 os.walk(osp.join(out, 'work_dirs', name)) for f in fs
                 if f == 'scalars.json']
        assert len(found) == 1, found
        assert 'coco/bbox_mAP' in open(found[0]).read()
    md = open(osp.join(out, 'results.md')).read()
    assert '| Faster R-CNN | stock (CE) |' in md
    assert '| Faster R-CNN | clipjoint-no-aux |' in md
    assert '| Faster R-CNN | clipjoint-no-aux | clean |' in md  # modes
    with open(osp.join(out, 'results.png'), 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'
    # a second call re-uses the finished run instead of training again
    rec = json.load(open(osp.join(out, 'runs', 'frcnn_stock_clean_s0.json')))
    assert rec['iters'] == 1
    assert 'Schedule: Faster R-CNN 1 iterations at batch 4' in md
    runs2 = mod['main'](argv)
    assert runs2[0]['seconds'] == rec['seconds']
    # a record of another schedule is trained again, not mixed in
    runs3 = mod['main'](argv[:-4] + ['--iters', '2', '--out', out])
    assert [r['iters'] for r in runs3] == [2, 2]
    assert runs3[0]['seconds'] != rec['seconds']
    md = open(osp.join(out, 'results.md')).read()
    assert 'Faster R-CNN 2 iterations' in md


@pytest.mark.slow
def test_smoke_preset_end_to_end(tmp_path):
    proc = subprocess.run(
        [sys.executable, osp.join(TOOLS, 'benchmark_accuracy.py'), '--preset',
         'smoke', '--out', str(tmp_path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    runs = os.listdir(tmp_path / 'runs')
    n_methods = sum(len(d['methods']) for d in DETECTORS.values())
    assert len(runs) == 2 * n_methods  # settings clean + both, 1 seed
    md = open(tmp_path / 'results.md').read()
    for row in ('| Faster R-CNN | stock (CE) |', '| Faster R-CNN | Seesaw |',
                '| Faster R-CNN | NormedLinear |', '| Faster R-CNN | ClipJoint',
                '| RTMDet-tiny | stock (CE) |', '| RTMDet-tiny | ClipJoint'):
        assert row in md and row in proc.stdout
    assert (tmp_path / 'results.png').is_file()


def test_demo_runs_and_draws(tmp_path):
    out = str(tmp_path / 'demo')
    proc = subprocess.run(
        [sys.executable, osp.join(TOOLS, 'demo.py'), '--detector', 'frcnn',
         '--iters', '2', '--num-train', '8', '--num-val', '2', '--num-show',
         '2', '--img-size', '128', '--out', out],
        capture_output=True, text=True, timeout=900,
        env={**os.environ, 'PYTHONUNBUFFERED': '1'})
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert 'ClipJoint' in proc.stdout and 'mAP50' in proc.stdout
    from PIL import Image
    img = Image.open(osp.join(out, 'detections_side_by_side.png'))
    assert img.width >= 2 * 128 and img.height >= 2 * 128
    metrics = json.load(open(osp.join(out, 'metrics.json')))
    assert set(metrics) == {'stock', 'clipjoint'}


def _bench_module():
    sys.path.insert(0, TOOLS)
    try:
        return runpy.run_path(osp.join(TOOLS, 'benchmark_accuracy.py'),
                              run_name='bench')
    finally:
        sys.path.remove(TOOLS)


def test_workers_share_runs_through_locks(tmp_path):
    claim = _bench_module()['_claim']
    lock = str(tmp_path / 'run.json.lock')
    assert claim(lock)  # free: taken, holds our pid
    assert open(lock).read() == str(os.getpid())
    # held by a live process (this one): another worker must skip it
    assert not claim(lock)
    # a killed worker's lock is stale: taken over
    dead = subprocess.run([sys.executable, '-c',
                           'import os; print(os.getpid())'],
                          capture_output=True, text=True).stdout.strip()
    with open(lock, 'w') as f:
        f.write(dead)
    assert claim(lock)
    assert open(lock).read() == str(os.getpid())


def test_dataset_generated_once_and_reused(tmp_path, monkeypatch):
    mod = _bench_module()
    preset = dict(num_train=4, num_val=2, img_size=96)
    data = mod['_dataset'](str(tmp_path / 'data'), preset)
    img = osp.join(data['data_root'], data['val_img_prefix'],
                   sorted(os.listdir(osp.join(data['data_root'],
                                              data['val_img_prefix'])))[0])
    mtime = os.stat(img).st_mtime_ns
    # the same parameters: nothing is regenerated
    mod['_dataset'].__globals__['make_synthetic_dataset'] = None
    assert mod['_dataset'](str(tmp_path / 'data'), preset) == data
    assert os.stat(img).st_mtime_ns == mtime
    # other parameters: regenerated
    called = []
    mod['_dataset'].__globals__['make_synthetic_dataset'] = \
        lambda *a, **k: called.append(a) or data
    mod['_dataset'](str(tmp_path / 'data'), dict(preset, num_train=5))
    assert called and called[0][1] == 5


def test_learning_curve_validates_along_training(tmp_path):
    sys.path.insert(0, osp.join(TOOLS, 'analysis_tools'))
    try:
        mod = runpy.run_path(
            osp.join(TOOLS, 'analysis_tools', 'learning_curve.py'),
            run_name='curve')
    finally:
        sys.path.remove(osp.join(TOOLS, 'analysis_tools'))
    curve = mod['main']([
        'frcnn', 'stock', '--preset', 'smoke', '--iters', '3',
        '--val-interval', '2', '--threads', '1', '--out', str(tmp_path)
    ])
    # validations after iterations 2 and 3 (the end), each with a metric
    assert [step for step, _, _ in curve] == [2, 3]
    assert all(0 <= m <= m50 <= 1 for _, m, m50 in curve)
    saved = json.load(open(tmp_path / 'frcnn_stock_clean_s0_3it.json'))
    assert [tuple(c) for c in saved['curve']] == [tuple(c) for c in curve]


def test_paired_differences_use_the_same_seed():
    paired = _bench_module()['_paired_lines']

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
    assert row == ['| RTMDet-tiny | ClipJoint | +1.5 ± 0.5 (2/2) | '
                   '+0.8 ± 0.2 |']
    assert paired([r for r in runs if r['method'] == 'stock'],
                  ['clean']) == []


def test_paired_ablation_table_pairs_variant_with_both_twins():
    mod = runpy.run_path(
        osp.join(TOOLS, 'analysis_tools', 'paired_ablation.py'),
        run_name='paired')

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
    lines = mod['paired_table'](main, variant)
    assert lines[2:] == [
        '| Faster R-CNN | clipjoint-w0.25 | clean | 0,1 | 15.0 ± 5.0 | '
        '10.0 ± 5.0 | 16.5 ± 8.5 | +1.5 ± 3.5 (1/2) | +6.5 ± 3.5 (2/2) | '
        '15.0 ± 5.0 |'
    ]
