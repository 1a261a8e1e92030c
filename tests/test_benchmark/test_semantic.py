# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""The semantic benchmark: CLIP geometry, the text-bank arms, the presets,
and a smoke run of the semantic preset."""
import json
import os
import os.path as osp

import pytest
import torch

from mmdet_clipjoint.benchmark import presets as benchmark_presets
from mmdet_clipjoint.benchmark.accuracy import run_accuracy_benchmark
from mmdet_clipjoint.benchmark.experiments import build_experiment_cfg
from mmdet_clipjoint.benchmark.presets import (PRESETS, get_preset,
                                               prepare_benchmark_data,
                                               preset_class_order,
                                               preset_run_kwargs,
                                               rare_classes)
from mmdet_clipjoint.benchmark.semantic import (SEMANTIC_CLASSES,
                                                clip_rows, clip_similarity,
                                                derangement,
                                                nearest_neighbours,
                                                neighbour_rare_classes,
                                                text_rows)


def test_neighbours_follow_clip_text():
    nn = nearest_neighbours(SEMANTIC_CLASSES)
    assert nn['car'] == 'truck' and nn['cat'] == 'dog'
    assert all(nn[c] != c for c in SEMANTIC_CLASSES)
    sim = clip_similarity(SEMANTIC_CLASSES)
    assert sim.shape == (15, 15)
    assert torch.allclose(torch.from_numpy(sim).diagonal(),
                          torch.ones(15), atol=1e-5)


def test_neighbour_rare_set_has_frequent_neighbours():
    rare = neighbour_rare_classes(SEMANTIC_CLASSES, 5)
    assert len(rare) == 5
    frequent = [c for c in SEMANTIC_CLASSES if c not in rare]
    sim = clip_similarity(SEMANTIC_CLASSES)
    idx = {c: i for i, c in enumerate(SEMANTIC_CLASSES)}
    for c in rare:
        # its closest frequent class is closer than the median pair
        best = max(sim[idx[c], idx[f]] for f in frequent)
        assert best > float(torch.from_numpy(sim).median())
    with pytest.raises(ValueError, match='rare classes need'):
        neighbour_rare_classes(SEMANTIC_CLASSES, 8)


def test_permuted_rows_are_a_derangement_of_the_clip_rows():
    perm = derangement(15, seed=0)
    assert sorted(perm) == list(range(15))
    assert all(p != i for i, p in enumerate(perm))
    clip = clip_rows(SEMANTIC_CLASSES)
    rows = text_rows('permuted', SEMANTIC_CLASSES)
    match = (rows @ clip.T).argmax(1).tolist()
    assert match == perm  # every row is another class's CLIP row
    assert torch.allclose(rows, clip[perm])
    # same statistics: the same set of rows, the same pairwise cosines
    assert torch.allclose(torch.sort((rows @ rows.T).flatten())[0],
                          torch.sort((clip @ clip.T).flatten())[0],
                          atol=1e-6)
    with pytest.raises(ValueError, match='at least 2'):
        derangement(1)


def test_centred_rows_open_the_cone():
    clip = clip_rows(SEMANTIC_CLASSES)
    rows = text_rows('centred', SEMANTIC_CLASSES)
    assert torch.allclose(rows.norm(dim=1), torch.ones(15), atol=1e-5)
    off = ~torch.eye(15, dtype=torch.bool)
    assert (rows @ rows.T)[off].mean() < (clip @ clip.T)[off].mean() - 0.3
    with pytest.raises(ValueError, match='unknown text rows'):
        text_rows('shuffled', SEMANTIC_CLASSES)


def test_centred_permuted_rows_are_a_derangement_of_the_centred_rows():
    centred = text_rows('centred', SEMANTIC_CLASSES)
    rows = text_rows('centred-permuted', SEMANTIC_CLASSES)
    perm = derangement(15, seed=0)
    assert (rows @ centred.T).argmax(1).tolist() == perm
    assert torch.allclose(rows, centred[perm])
    # the centred geometry is kept: the same pairwise cosines
    assert torch.allclose(torch.sort((rows @ rows.T).flatten())[0],
                          torch.sort((centred @ centred.T).flatten())[0],
                          atol=1e-6)


def test_semantic_presets():
    for name in ('semantic-smoke', 'semantic-cpu', 'semantic-cpu-b',
                 'semantic-gpu'):
        p = get_preset(name)
        assert p['dataset'] == 'semantic' and p['pretrained']
        assert p['text_init'] == dict(init_source='vocabulary',
                                      vocabulary='coco')
    cpu = get_preset('semantic-cpu')
    order = preset_class_order(cpu)
    rare = rare_classes(SEMANTIC_CLASSES, order)
    assert rare == neighbour_rare_classes(SEMANTIC_CLASSES, 5)
    w = benchmark_presets.long_tail_weights(cpu)
    assert [w[SEMANTIC_CLASSES.index(c)] for c in rare] == [1 / 25] * 5
    assert sorted(set(w)) == [1 / 25, 1.0]
    # the noise flips each class to its nearest CLIP neighbour
    kw = preset_run_kwargs(cpu, 'rtmdet')
    assert kw['flip_map'] == nearest_neighbours(SEMANTIC_CLASSES)
    assert kw['noise_type'] == 'pairwise'
    # the confirmation split: random rare set, other generator seed
    b = get_preset('semantic-cpu-b')
    assert rare_classes(SEMANTIC_CLASSES, preset_class_order(b)) != rare
    assert b['data_seed'] != cpu['data_seed']
    with pytest.raises(ValueError, match='rare='):
        get_preset(dict(PRESETS['semantic-cpu'], rare='random'))


@pytest.fixture(scope='module')
def semantic_cache(tmp_path_factory):
    """Pre-training cache shared by the semantic smoke runs (the tiny emoji
    pre-training is trained once, by the first of them)."""
    return str(tmp_path_factory.mktemp('semantic_pretrain'))


def _bank(cfg):
    from mmdet.registry import MODELS
    import mmdet_clipjoint  # noqa: F401
    from mmdet_clipjoint.models.layers import ContrastiveTextBank
    model = MODELS.build(cfg.model)
    model.init_weights()
    banks = [m for m in model.modules()
             if isinstance(m, ContrastiveTextBank)]
    assert len(banks) == 1
    _BRANCHES[id(banks[0])] = next(
        m for m in model.modules() if hasattr(m, 'logit_adjust'))
    return banks[0]


#: the ContrastiveBranch that owns a bank built by _bank (bank id -> branch)
_BRANCHES = {}


def _branch_of(bank):
    return _BRANCHES[id(bank)]


def test_text_bank_arms_start_where_they_should(tmp_path):
    preset = get_preset('semantic-smoke')
    data = prepare_benchmark_data(str(tmp_path / 'data'), preset)
    clip = clip_rows(SEMANTIC_CLASSES)

    def bank(method):
        cfg = build_experiment_cfg(
            'rtmdet', method, data, str(tmp_path / method), 'clean',
            **preset_run_kwargs(preset, 'rtmdet'))
        return _bank(cfg)

    main = bank('clipjoint')
    assert torch.allclose(main.embeddings.data, clip, atol=1e-6)
    assert main.embeddings.requires_grad
    permuted = bank('clipjoint-permuted')
    assert torch.allclose(permuted.embeddings.data,
                          clip[derangement(15, seed=0)], atol=1e-6)
    # the balanced remedy's permuted control: the same rows, adjusted
    bal_perm = bank('clipjoint-balanced-permuted')
    assert torch.allclose(bal_perm.embeddings.data,
                          clip[derangement(15, seed=0)], atol=1e-6)
    assert _branch_of(bal_perm).logit_adjust == 1.0
    assert _branch_of(bank('clipjoint-balanced')).logit_adjust == 1.0
    centred = bank('clipjoint-centred')
    assert torch.allclose(centred.embeddings.data,
                          text_rows('centred', SEMANTIC_CLASSES), atol=1e-6)
    centred_perm = bank('clipjoint-centred-permuted')
    assert torch.allclose(
        centred_perm.embeddings.data,
        text_rows('centred', SEMANTIC_CLASSES)[derangement(15, seed=0)],
        atol=1e-6)
    # both remedies: the centred rows, adjusted; its control deranges them
    both = bank('clipjoint-centred-balanced')
    assert torch.allclose(both.embeddings.data,
                          text_rows('centred', SEMANTIC_CLASSES), atol=1e-6)
    assert _branch_of(both).logit_adjust == 1.0
    both_perm = bank('clipjoint-centred-balanced-permuted')
    assert torch.allclose(
        both_perm.embeddings.data,
        text_rows('centred', SEMANTIC_CLASSES)[derangement(15, seed=0)],
        atol=1e-6)
    assert _branch_of(both_perm).logit_adjust == 1.0
    # the bank option centre='coco' starts from the same rows and keeps
    # the centre, so the all-class rows set_vocabulary gives it at test
    # (zero-shot arm `centred`) are centred the same way
    from mmdet_clipjoint.benchmark.zero_shot import (ZERO_SHOT_ARMS,
                                                     zero_shot_rows)
    centred_bank = bank(ZERO_SHOT_ARMS['centred'])
    assert centred_bank.is_centred and centred_bank.embeddings.requires_grad
    assert torch.allclose(centred_bank.embeddings.data,
                          text_rows('centred', SEMANTIC_CLASSES), atol=1e-6)
    centred_bank.set_classes(SEMANTIC_CLASSES,
                             zero_shot_rows('centred', SEMANTIC_CLASSES))
    assert torch.allclose(centred_bank.embeddings.data,
                          text_rows('centred', SEMANTIC_CLASSES), atol=1e-6)
    frozen = bank('clipjoint-frozen-text')
    assert torch.allclose(frozen.embeddings.data, clip, atol=1e-6)
    assert not frozen.embeddings.requires_grad
    random = bank('clipjoint-random-text')
    assert (random.embeddings.data * clip).sum(1).abs().max() < 0.5
    # a cache written before a rows kind existed gets the missing file
    stamp = osp.join(data['data_root'], 'dataset.json')
    with open(stamp) as f:
        saved = json.load(f)
    os.remove(osp.join(data['data_root'],
                       saved['data']['text_rows'].pop('centred-permuted')))
    with open(stamp, 'w') as f:
        json.dump(saved, f)
    again = prepare_benchmark_data(str(tmp_path / 'data'), preset)
    assert osp.isfile(osp.join(again['data_root'],
                               again['text_rows']['centred-permuted']))
    # the rows files exist only for the semantic presets' data
    other = dict(data, text_rows={})
    with pytest.raises(ValueError, match="needs the 'permuted' text rows"):
        build_experiment_cfg('rtmdet', 'clipjoint-permuted', other,
                             str(tmp_path / 'x'), 'clean')


def test_semantic_smoke_preset_runs(tmp_path, semantic_cache):
    """The CI-sized semantic benchmark: emoji pre-training, data, a stock
    run and two text-bank arms under long tail + noise, and the report's
    paired tables."""
    out = str(tmp_path / 'out')
    runs = run_accuracy_benchmark(
        'semantic-smoke', out, detectors=['rtmdet'],
        methods=['stock', 'clipjoint', 'clipjoint-permuted'],
        settings=['both'], pretrain_cache=semantic_cache,
        progress=False, log=lambda s: None)
    assert [(r['method'], r['setting']) for r in runs] == [
        ('stock', 'both'), ('clipjoint', 'both'),
        ('clipjoint-permuted', 'both')]
    stamps = [osp.join(semantic_cache, f)
              for f in os.listdir(semantic_cache) if f.endswith('.json')]
    with open(stamps[0]) as f:
        stamp = json.load(f)
    assert stamp['params']['world'] == 'emoji'
    md = open(osp.join(out, 'results.md')).read()
    assert 'semantic world (COCO names drawn as Noto Color Emoji' in md
    assert 'ClipJoint (learnable CLIP rows) minus the other text banks' in md
    assert '| RTMDet-tiny | ClipJoint − clipjoint-permuted |' in md
    for r in runs:
        assert set(r['summary']) >= {'mAP', 'AP_rare'}


def test_zero_shot_runs_name_novel_classes_never_boxed(tmp_path,
                                                      semantic_cache):
    """ViLD-text protocol on the smoke preset: no novel-class box in the
    training split, the trained base-class model is evaluated with every
    class's rows, and the permuted control uses one derangement in training
    and at test."""
    from mmdet_clipjoint.benchmark.zero_shot import (novel_classes,
                                                     run_zero_shot,
                                                     zero_shot_data,
                                                     zero_shot_report,
                                                     zero_shot_rows)
    preset = get_preset('semantic-smoke')
    novel = novel_classes(preset)
    assert len(novel) == round(len(SEMANTIC_CLASSES) / 4)  # a quarter
    out = str(tmp_path / 'zs')
    data = prepare_benchmark_data(osp.join(out, 'data'), preset)
    zdata = zero_shot_data(osp.join(out, 'data'), preset, data)
    with open(osp.join(zdata['data_root'], zdata['train_ann_file'])) as f:
        train = json.load(f)
    names = {c['id']: c['name'] for c in train['categories']}
    assert sorted(names.values()) == sorted(zdata['classes'])
    assert not set(zdata['classes']) & set(novel)
    assert train['annotations'] and all(
        names[a['category_id']] not in novel for a in train['annotations'])
    # the same images as the clean split: only the novel boxes are gone
    with open(osp.join(data['data_root'], data['train_ann_file'])) as f:
        clean = json.load(f)
    assert train['images'] == clean['images']
    # the permuted control: base rows = the all-class derangement's rows
    rows_all = zero_shot_rows('permuted', SEMANTIC_CLASSES)
    base_file = torch.load(osp.join(zdata['data_root'],
                                    zdata['text_rows']['permuted']))
    idx = [SEMANTIC_CLASSES.index(c) for c in zdata['classes']]
    assert torch.allclose(base_file['embeddings'], rows_all[idx])
    assert torch.allclose(zero_shot_rows('clip', SEMANTIC_CLASSES),
                          clip_rows(SEMANTIC_CLASSES))
    recs = run_zero_shot('semantic-smoke', out, 'rtmdet',
                         arms=('clip', 'permuted'), seeds=[0],
                         pretrain_cache=semantic_cache, log=lambda s: None)
    assert [r['arm'] for r in recs] == ['clip', 'permuted']
    for r in recs:
        # evaluated in the all-class label space (novel classes included)
        assert all(f'coco/{c}_precision' in r['metrics']
                   for c in SEMANTIC_CLASSES)
        assert set(r['summary']) == {'AP_novel', 'AP_base', 'mAP'}
    md = zero_shot_report(recs)
    assert '| clip | 1 |' in md and 'Minus the permuted control' in md
    # resumable: a second call trains nothing
    again = run_zero_shot('semantic-smoke', out, 'rtmdet',
                          arms=('clip', ), seeds=[0],
                          pretrain_cache=semantic_cache, log=lambda s: None)
    assert again[0]['seconds'] == recs[0]['seconds']
    # shareable: a run whose lock another worker holds is left to it
    from mmdet_clipjoint.utils.file_lock import exclusive_lock
    said = []
    lock = osp.join(out, 'zeroshot_runs', 'rtmdet_zs-frozen_s0.json.lock')
    with exclusive_lock(lock, timeout=0):
        left = run_zero_shot('semantic-smoke', out, 'rtmdet',
                             arms=('frozen', 'clip'), seeds=[0],
                             pretrain_cache=semantic_cache, log=said.append)
    assert [r['arm'] for r in left] == ['clip']
    assert 'taken by other workers' in said[-1]
    assert not osp.exists(osp.join(out, 'work_dirs', 'rtmdet_zs-frozen_s0'))


def test_zero_shot_report_pairs_the_bank_variants_with_clip():
    """Each arm minus the permuted control; the bank variants (here
    centred) also minus the learnable CLIP bank, paired by seed."""
    from mmdet_clipjoint.benchmark.zero_shot import zero_shot_report
    novel = ['bus']
    ap = dict(clip=[0.01, 0.02, 0.03], centred=[0.05, 0.07, 0.06],
              permuted=[0.0, 0.01, 0.0])
    recs = [dict(arm=arm, seed=s, novel=novel,
                 summary=dict(AP_novel=v, AP_base=0.2, mAP=0.15))
            for arm, vals in ap.items() for s, v in enumerate(vals)]
    md = zero_shot_report(recs)
    assert '| centred | 3 | 6.0 ± 0.8 |' in md
    clip_part = md.split('Minus the learnable CLIP bank (clip)')[1]
    # centred - clip: +4.0, +5.0, +3.0 -> mean +4.0, all seeds ahead
    assert '| centred | +4.0 [' in clip_part and '3/3' in clip_part
    assert '| clip |' not in clip_part and '| permuted |' not in clip_part
    perm_part = md.split('Minus the permuted control')[1].split(
        'Minus the learnable')[0]
    assert '| clip | +1.7 [' in perm_part and '| centred | +5.7 [' in \
        perm_part
