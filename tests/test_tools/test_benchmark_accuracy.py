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
from mmdet_clipjoint.benchmark import presets as benchmark_presets
from mmdet_clipjoint.benchmark.experiments import (CLIPJOINT_VARIANTS,
                                                   DETECTORS, SETTINGS,
                                                   build_experiment_cfg,
                                                   run_experiment)
from mmdet_clipjoint.benchmark.presets import (PRESETS, get_preset,
                                               prepare_benchmark_data,
                                               preset_class_order,
                                               preset_run_kwargs,
                                               rare_classes)

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOLS = osp.join(REPO_ROOT, 'tools')


@pytest.fixture(scope='module')
def smoke_cache(tmp_path_factory):
    """Pre-training cache shared by the tests that run the smoke preset
    (its tiny pre-training is trained once, by the first of them)."""
    return str(tmp_path_factory.mktemp('pretrain_cache'))


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
        # the rows-file arms need the semantic data (tests/test_benchmark/
        # test_semantic.py)
        if 'text_rows' not in CLIPJOINT_VARIANTS[v]
    }
    w = heads['clipjoint-w0.5']
    assert w.branch.loss_contrast.loss_weight == 0.5
    assert w.branch.loss_aux.loss_weight == 0.5
    assert w.branch.loss_contrast.type == base.branch.loss_contrast.type
    assert heads['clipjoint-share-none'].branch.max_grad_share is None
    assert heads['clipjoint-symmetric'].branch.loss_contrast.symmetric is True
    assert heads['clipjoint-bg-none'].branch.loss_aux is None
    # merged key by key: the rest of the loss config stays
    assert w.branch.loss_aux.type == base.branch.loss_aux.type
    assert w.branch.loss_aux.use_sigmoid == base.branch.loss_aux.use_sigmoid
    assert heads['clipjoint-no-aux'].branch.loss_aux is None
    assert heads['clipjoint-tau0.2'].text_bank.temperature == 0.2
    assert heads['clipjoint-tau0.2'].text_bank.class_names == \
        base.text_bank.class_names
    assert heads['clipjoint-bg-none'].text_bank.background is None
    assert heads['clipjoint-proj128'].branch.proj_hidden == 128
    assert heads['clipjoint-frozen-text'].text_bank.learnable is False
    assert heads['clipjoint-balanced'].branch.logit_adjust == 1.0
    assert heads['clipjoint-balanced'].branch.loss_aux == base.branch.loss_aux
    # its control: the same adjustment, a random bank
    ctrl = heads['clipjoint-balanced-random-text']
    assert ctrl.branch.logit_adjust == 1.0
    assert ctrl.text_bank.init_source == 'random'
    assert CLIPJOINT_VARIANTS['clipjoint-balanced-permuted'] == dict(
        branch=dict(logit_adjust=1.0), text_rows='permuted')
    assert heads['clipjoint'] == base
    # the bank's optimizer settings are merged key by key too
    keys = build_experiment_cfg(det, 'clipjoint-bank-lr1', synthetic_coco,
                                str(tmp_path)).optim_wrapper.paramwise_cfg[
                                    'custom_keys']
    assert keys['text_bank.embeddings']['lr_mult'] == 1.0
    assert keys['text_bank.log_scale']['decay_mult'] == 0.0
    # every variant builds into a model with the change applied
    for v in ('clipjoint-no-aux', 'clipjoint-bg-none', 'clipjoint-balanced'):
        cfg = build_experiment_cfg(det, v, synthetic_coco, str(tmp_path))
        from mmdet.registry import MODELS
        from mmengine.registry import init_default_scope
        init_default_scope('mmdet')  # as the runner does (any test order)
        model = MODELS.build(cfg.model)
        head = model.roi_head.bbox_head if det == 'frcnn' else \
            model.bbox_head
        if v == 'clipjoint-no-aux':
            assert head.branch.loss_aux is None
        elif v == 'clipjoint-balanced':
            assert head.branch.logit_adjust == 1.0
            assert head.branch.label_counts.shape == (
                head.num_classes + int(head.text_bank.with_background), )
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
    res = run_experiment(cfg, score_modes=('det', 'clip'), curve_every=1)
    assert set(res) == {'default', 'det', 'clip', 'train_stats', 'curve',
                        'console_log'}
    # validated after iterations 1 and 2; the last one is the default
    assert [it for it, _ in res['curve']] == [1, 2]
    assert res['curve'][-1][1] == res['default'].get('coco/bbox_mAP', 0.0)
    stats = res['train_stats']
    assert len(stats['noise_matrix']) == len(synthetic_coco['classes'])
    assert sum(stats['class_counts']) == sum(map(sum,
                                                 stats['noise_matrix']))


def test_benchmark_cli_writes_table_and_plot(tmp_path, smoke_cache):
    out = str(tmp_path / 'bench')
    argv = ['--preset', 'smoke', '--detectors', 'frcnn', '--methods',
            'stock', 'clipjoint-no-aux', '--settings', 'clean',
            '--threads', '1', '--pretrain-cache', smoke_cache, '--iters',
            '1', '--out', out]
    sys.path.insert(0, TOOLS)
    try:
        mod = runpy.run_path(osp.join(TOOLS, 'benchmark_accuracy.py'),
                             run_name='bench')
        runs = mod['main'](argv)
    finally:
        sys.path.remove(TOOLS)
    assert [r['method'] for r in runs] == ['stock', 'clipjoint-no-aux']
    # the smoke preset starts from its (tiny) synthetic pre-training
    weights = [f for f in os.listdir(smoke_cache) if f.endswith('.pth')]
    assert len(weights) == 1 and weights[0].startswith('frcnn_')
    weights = osp.join(smoke_cache, weights[0])
    pt_mtime = os.stat(weights).st_mtime_ns
    assert {r['init'] for r in runs} == {osp.basename(weights)}
    cfg = json.load(open(osp.join(out, 'runs',
                                  'frcnn_stock_clean_s0.json')))
    assert cfg['init'] == osp.basename(weights)
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
    assert f'Faster R-CNN backbone + neck from `{osp.basename(weights)}`' \
        in md
    assert 'Training instances per setting: clean ' in md
    assert 'rare third = ' + str(rare_classes(
        benchmark_presets.preset_classes(get_preset('smoke')))) in md
    runs2 = mod['main'](argv)
    assert runs2[0]['seconds'] == rec['seconds']
    # --report-only trains nothing and tables every stored run of this
    # schedule, also those of another command (here: only the stock run
    # is asked for, the ClipJoint record still appears)
    only = mod['main'](['--preset', 'smoke', '--detectors', 'frcnn',
                        '--methods', 'stock', '--iters', '1', '--threads',
                        '1', '--pretrain-cache', smoke_cache, '--out', out,
                        '--report-only'])
    assert sorted(r['method'] for r in only) == ['clipjoint-no-aux', 'stock']
    assert [r['seconds'] for r in only if r['method'] == 'stock'] == \
        [rec['seconds']]
    # --report-only with nothing to report: a clear error, nothing trained
    with pytest.raises(SystemExit, match='no run records in .*empty'):
        mod['main'](['--preset', 'smoke', '--detectors', 'frcnn',
                     '--out', osp.join(str(tmp_path), 'empty'),
                     '--report-only'])
    assert not osp.exists(osp.join(str(tmp_path), 'empty', 'data'))
    with pytest.raises(SystemExit, match="none of the run records.*--iters"):
        mod['main'](['--preset', 'smoke', '--detectors', 'frcnn',
                     '--iters', '7', '--threads', '1', '--pretrain-cache',
                     smoke_cache, '--out', out, '--report-only'])
    # the final validation is recorded (the learning curve's last point)
    assert [it for it, _ in rec['curve']] == [1]
    assert mod['main'](['--preset', 'smoke', '--detectors', 'frcnn',
                        '--pretrain-only', '--pretrain-cache', smoke_cache,
                        '--out', out]) == []
    # the pre-training is reused, not trained again
    assert os.stat(weights).st_mtime_ns == pt_mtime
    # a record of another schedule is trained again, not mixed in
    runs3 = mod['main'](argv[:-4] + ['--iters', '2', '--out', out])
    assert [r['iters'] for r in runs3] == [2, 2]
    assert runs3[0]['seconds'] != rec['seconds']
    md = open(osp.join(out, 'results.md')).read()
    assert 'Faster R-CNN 2 iterations' in md
    # and so is a record of another initialisation (the from-scratch table)
    runs4 = mod['main'](['--preset', 'smoke', '--detectors', 'frcnn',
                         '--methods', 'stock', '--settings', 'clean',
                         '--threads', '1', '--iters', '2', '--no-pretrained',
                         '--out', out])
    assert [r['init'] for r in runs4] == ['scratch']
    assert runs4[0]['seconds'] != runs3[0]['seconds']
    md = open(osp.join(out, 'results.md')).read()
    assert 'Initialisation: random weights (from scratch).' in md


@pytest.mark.slow
def test_smoke_preset_end_to_end(tmp_path):
    proc = subprocess.run(
        [sys.executable, osp.join(TOOLS, 'benchmark_accuracy.py'), '--preset',
         'smoke', '--threads', '1', '--pretrain-cache',
         str(tmp_path / 'cache'), '--out', str(tmp_path)],
        capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # one pre-training per detector, in the given cache
    assert sorted(f.split('_')[0] for f in os.listdir(tmp_path / 'cache')
                  if f.endswith('.pth')) == sorted(DETECTORS)
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
         '--iters', '2', '--num-train', '16', '--num-val', '2', '--num-show',
         '2', '--img-size', '128', '--out', out],
        capture_output=True, text=True, timeout=900,
        env={**os.environ, 'PYTHONUNBUFFERED': '1'})
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert 'ClipJoint' in proc.stdout and 'mAP50' in proc.stdout
    # the console is for people: steps, progress bars, the comparison --
    # no config dumps, hook tables, environment or library chatter
    console = proc.stdout + proc.stderr
    for noise in ('Config:', 'Environment', 'paramwise_options',
                  'loading annotations into memory', 'Hooks will be',
                  'Warning'):
        assert noise not in console, noise
    # each model is evaluated once, by the validation that ends training
    # (issue 28 item 11: no second test pass)
    assert 'train: 100%' in console and 'val: 100%' in console
    lines = [ln for ln in console.replace('\r', '\n').splitlines()
             if ln.strip() and '%|' not in ln]
    assert len(lines) < 40, '\n'.join(lines)
    # ... and the rest is in the files whose paths it printed
    run_log = osp.join(out, 'work_dir_stock_clean', 'console.log')
    assert run_log in proc.stdout and osp.join(out, 'demo.log') in \
        proc.stdout
    assert 'loading annotations into memory' in open(run_log).read()
    # the semantic world (the demo's default): real names, CLIP text rows
    assert ('ClipJoint text bank initialised from: the shipped CLIP '
            "ViT-B/32 text embeddings of the 'coco' vocabulary") in proc.stdout
    from PIL import Image
    img = Image.open(osp.join(out, 'detections_side_by_side.png'))
    # ground truth | stock | ClipJoint, each enlarged to ~360 px
    assert img.width >= 3 * 360 and img.height >= 2 * 360
    metrics = json.load(open(osp.join(out, 'metrics.json')))
    # clean labels and long tail + noise, the setting of the claim
    assert set(metrics) == {'clean/stock', 'clean/clipjoint', 'both/stock',
                            'both/clipjoint'}
    assert 'both' in proc.stdout and 'clean' in proc.stdout


def test_dataset_generated_once_and_reused(tmp_path, monkeypatch):
    import mmdet_clipjoint.datasets as datasets
    preset = dict(num_train=4, num_val=2, img_size=96)
    data = prepare_benchmark_data(str(tmp_path / 'data'), preset)
    img = osp.join(data['data_root'], data['val_img_prefix'],
                   sorted(os.listdir(osp.join(data['data_root'],
                                              data['val_img_prefix'])))[0])
    mtime = os.stat(img).st_mtime_ns
    # the same parameters: nothing is regenerated
    monkeypatch.setattr(datasets, 'make_synthetic_dataset', None)
    assert prepare_benchmark_data(str(tmp_path / 'data'), preset) == data
    assert os.stat(img).st_mtime_ns == mtime
    # other parameters: regenerated
    called = []
    monkeypatch.setattr(datasets, 'make_synthetic_dataset',
                        lambda *a, **k: called.append((a, k)) or data)
    prepare_benchmark_data(str(tmp_path / 'data'), dict(preset, num_train=5))
    assert called and called[0][0][1] == 5
    # benchmark B: its vocabulary and generator seed
    prepare_benchmark_data(str(tmp_path / 'data'),
                           dict(preset, dataset='B', data_seed=9))
    from mmdet_clipjoint.datasets import SYNTHETIC_CLASSES_B
    assert called[1][1]['classes'] == SYNTHETIC_CLASSES_B
    assert called[1][1]['seed'] == 9
    assert not os.path.exists(osp.join(tmp_path, 'data', 'dataset.lock'))
    # reused from another place (a moved or linked folder, another cwd):
    # the paths point at where the data is now
    os.symlink(str(tmp_path / 'data'), str(tmp_path / 'linked'))
    monkeypatch.setattr(datasets, 'make_synthetic_dataset', None)
    moved = prepare_benchmark_data(str(tmp_path / 'linked'),
                                   dict(preset, dataset='B', data_seed=9))
    assert moved['data_root'] == str(tmp_path / 'linked')


def test_presets():
    assert {'smoke', 'cpu', 'cpu-pt', 'cpu-pt-b', 'gpu'} <= set(PRESETS)
    for name in PRESETS:
        p = get_preset(name)
        assert set(p['iters']) == set(p['batch']) == set(DETECTORS)
        assert set(p['settings']) <= set(SETTINGS)
    assert get_preset('cpu')['pretrained'] is False  # the from-scratch table
    assert get_preset('smoke')['pretrained'] is True
    pt, ptb = get_preset('cpu-pt'), get_preset('cpu-pt-b')
    assert pt['pretrained'] and ptb['pretrained']
    assert pt['seeds'] == ptb['seeds'] == [0, 1, 2, 3, 4]
    assert pt['num_train'] >= 1200
    assert (pt['dataset'], pt['noise_type']) == ('A', 'symmetric')
    assert (ptb['dataset'], ptb['noise_type']) == ('B', 'pairwise')
    assert ptb['data_seed'] != pt['data_seed']
    with pytest.raises(KeyError, match='unknown preset'):
        get_preset('cpu-xl')
    with pytest.raises(ValueError, match='dataset'):
        get_preset(dict(PRESETS['cpu'], dataset='C'))


def test_generated_long_tail(tmp_path):
    """``long_tail='generate'``: the long-tailed settings train on a
    generated long-tailed split of as many images, without subsampling."""
    from mmdet_clipjoint.datasets import SYNTHETIC_CLASSES_B
    preset = dict(PRESETS['cpu-pt-b'], num_train=60, num_val=4, img_size=64)
    assert get_preset(preset)['long_tail'] == 'generate'
    order = preset_class_order(preset)
    w = benchmark_presets.long_tail_weights(preset)
    idx = {c: i for i, c in enumerate(SYNTHETIC_CLASSES_B)}
    assert w[idx[order[0]]] == 1.0
    assert w[idx[order[-1]]] == pytest.approx(1 / 50)
    data = prepare_benchmark_data(str(tmp_path / 'data'), preset)
    assert data['longtail']['train_ann_file'].startswith('longtail')
    clean = benchmark_presets.count_instances(data)
    for setting in SETTINGS:
        run_data = benchmark_presets.preset_run_data(preset, data, setting)
        cfg = build_experiment_cfg('frcnn', 'stock', run_data,
                                   str(tmp_path / setting), setting,
                                   **preset_run_kwargs(preset, 'frcnn', 1))
        ds = cfg.train_dataloader.dataset
        types = []
        while ds.get('dataset'):
            types.append(ds['type'])
            ds = ds['dataset']
        assert 'LongTailDataset' not in types
        assert types == (['NoisyLabelDataset'] if 'noise_rate' in
                         SETTINGS[setting] else [])
        tailed = 'imbalance_ratio' in SETTINGS[setting]
        assert ds['ann_file'].startswith('longtail') == tailed
        assert ds['data_prefix']['img'] == ('longtail/train/' if tailed
                                            else 'train/')
        if tailed:
            lt = benchmark_presets.count_instances(run_data)
            assert lt[idx[order[0]]] > 4 * max(1, lt[idx[order[-1]]])
            assert sum(lt) > 0.6 * sum(clean)  # not "6x less data"
    # the val split is shared
    assert run_data['val_ann_file'] == data['val_ann_file']


def test_preset_b_stress_and_rare_classes(tmp_path):
    from mmdet_clipjoint.datasets import (SYNTHETIC_CLASSES_B,
                                          SYNTHETIC_CONFUSABLE_B,
                                          make_synthetic_dataset)
    preset = get_preset('cpu-pt-b')
    order = preset_class_order(preset)
    # a seeded permutation: the same every call, not the dataset order
    assert order == preset_class_order(preset)
    assert sorted(order) == sorted(SYNTHETIC_CLASSES_B)
    assert order != list(SYNTHETIC_CLASSES_B)
    rare = rare_classes(SYNTHETIC_CLASSES_B, order)
    assert set(rare) == set(order[-4:]) and len(rare) == 4
    assert rare != list(SYNTHETIC_CLASSES_B[-4:])
    data = make_synthetic_dataset(str(tmp_path / 'b'), 120, 2, (64, 64),
                                  classes=SYNTHETIC_CLASSES_B, seed=3)
    kw = preset_run_kwargs(dict(preset, long_tail='subsample'), 'rtmdet',
                           max_iters=1)
    assert kw['flip_map'] == SYNTHETIC_CONFUSABLE_B
    cfg = build_experiment_cfg('rtmdet', 'stock', data, str(tmp_path / 'w'),
                               'both', seed=0, **kw)
    noisy = cfg.train_dataloader.dataset
    assert noisy.type == 'NoisyLabelDataset'
    assert noisy.noise_type == 'pairwise'
    assert noisy.flip_map == SYNTHETIC_CONFUSABLE_B
    assert noisy.dataset.type == 'LongTailDataset'
    assert noisy.dataset.class_order == order
    # the wrappers accept them: the realised flips follow the map and the
    # head of the order keeps the most instances
    from mmdet.registry import DATASETS
    from mmengine.registry import init_default_scope
    init_default_scope('mmdet')
    ds = DATASETS.build(cfg.train_dataloader.dataset)
    m = ds.noise_matrix
    idx = {c: i for i, c in enumerate(SYNTHETIC_CLASSES_B)}
    for a, b in SYNTHETIC_CONFUSABLE_B.items():
        row = m[idx[a]].copy()
        row[[idx[a], idx[b]]] = 0
        assert row.sum() == 0  # flips only to the confusable partner
    tail = ds.dataset
    targets = [tail.targets[idx[c]] for c in order]
    assert targets == sorted(targets, reverse=True) and \
        targets[0] > targets[-1]
    assert tail.counts[idx[order[0]]] > tail.counts[idx[order[-1]]]
    # benchmark A keeps symmetric noise and the dataset order
    kw_a = preset_run_kwargs(get_preset('cpu-pt'), 'frcnn')
    assert kw_a['noise_type'] == 'symmetric' and 'flip_map' not in kw_a
    assert kw_a['class_order'] is None
    assert kw_a['max_iters'] == get_preset('cpu-pt')['iters']['frcnn']


def test_learning_curve_validates_along_training(tmp_path, smoke_cache):
    sys.path.insert(0, osp.join(TOOLS, 'analysis_tools'))
    try:
        mod = runpy.run_path(
            osp.join(TOOLS, 'analysis_tools', 'learning_curve.py'),
            run_name='curve')
    finally:
        sys.path.remove(osp.join(TOOLS, 'analysis_tools'))
    curve = mod['main']([
        'frcnn', 'stock', '--preset', 'smoke', '--iters', '3',
        '--val-interval', '2', '--threads', '1', '--pretrain-cache',
        smoke_cache, '--out', str(tmp_path)
    ])
    # validations after iterations 2 and 3 (the end), each with a metric
    assert [step for step, _, _ in curve] == [2, 3]
    assert all(0 <= m <= m50 <= 1 for _, m, m50 in curve)
    saved = json.load(open(tmp_path / 'smoke_frcnn_stock_clean_s0_3it.json'))
    assert [tuple(c) for c in saved['curve']] == [tuple(c) for c in curve]
    # the preset's pre-trained start (the smoke preset has one)
    assert saved['init'].startswith('from frcnn_')
    assert any(f.endswith('.pth') for f in os.listdir(smoke_cache))
    # imported from the package, not from tools/ through sys.path
    src = open(osp.join(TOOLS, 'analysis_tools', 'learning_curve.py')).read()
    assert 'sys.path' not in src and 'import benchmark_accuracy' not in src
    assert 'from benchmark_accuracy' not in src
