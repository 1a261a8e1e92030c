# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""LVIS-scale open vocabulary in the semantic world (issue 26 item 3): the
other-LVIS emoji table, the val / train split, the evaluation against
1,203 candidate names, the arms' configs and a smoke run of the tool."""
import glob
import json
import os
import os.path as osp

import numpy as np
import pytest
import torch

from mmdet_clipjoint.benchmark.lvis_vocab import (LVIS_VOCAB_ARMS,
                                                  LVIS_VOCAB_PRESETS,
                                                  OTHER_LVIS_EMOJI,
                                                  build_lvis_vocab_cfg,
                                                  lvis_name,
                                                  lvis_vocab_metrics,
                                                  prepare_lvis_vocab_data)
from mmdet_clipjoint.datasets import (ALPHA_THRESHOLD, COCO_EMOJI,
                                      DISTRACTOR_EMOJI, SOURCE_EMOJI,
                                      EmojiArt)


def _read(root, path):
    with open(osp.join(root, path)) as f:
        return json.load(f) if path.endswith('.json') else \
            [json.loads(line) for line in f]


def test_other_lvis_table_is_new_and_drawn():
    """LVIS names, no COCO name, none of the pre-training's classes; one
    picture each, a real glyph of the font (the glyph test of
    test_semantic.py)."""
    from mmdet.datasets import CocoDataset, LVISV1Dataset
    lvis = set(LVISV1Dataset.METAINFO['classes'])
    coco = set(CocoDataset.METAINFO['classes'])
    assert set(OTHER_LVIS_EMOJI) <= lvis
    assert not set(OTHER_LVIS_EMOJI) & (coco | set(SOURCE_EMOJI))
    cps = list(OTHER_LVIS_EMOJI.values())
    assert len(set(cps)) == len(cps)
    assert not set(cps) & (set(COCO_EMOJI.values()) |
                           set(SOURCE_EMOJI.values()) |
                           set(DISTRACTOR_EMOJI))
    art = EmojiArt()
    for cp in cps:
        sprite = art.sprite(cp)
        alpha = np.asarray(sprite)[..., 3]
        assert min(sprite.size) >= 20, cp
        assert (alpha >= ALPHA_THRESHOLD).mean() > 0.2, cp
    assert lvis_name('car') == 'car_(automobile)'
    assert lvis_name('dog') == 'dog'


def test_metrics_map_vocabulary_names_to_the_val_classes():
    """Hand-made detections: a correct other-class box gives AP 1; a base
    object whose best box carries a wrong LVIS name is renamed (its class
    AP drops, the name counts outside the GT)."""
    gt = dict(
        images=[dict(id=1, width=100, height=100, file_name='a.jpg'),
                dict(id=2, width=100, height=100, file_name='b.jpg')],
        categories=[dict(id=1, name='car_(automobile)'),
                    dict(id=2, name='gorilla'), dict(id=3, name='sheep')],
        annotations=[
            dict(id=1, image_id=1, category_id=1, bbox=[10, 10, 40, 30],
                 area=1200, iscrowd=0),
            dict(id=2, image_id=2, category_id=2, bbox=[20, 20, 50, 60],
                 area=3000, iscrowd=0)])
    dets = [
        # the gorilla, right
        dict(image_id=2, bbox=[20, 20, 70, 80], score=0.9, name='gorilla'),
        # the car: best box says pickup truck (an LVIS name no GT has),
        # a weaker one says car
        dict(image_id=1, bbox=[10, 10, 50, 40], score=0.8,
             name='pickup_truck'),
        dict(image_id=1, bbox=[11, 10, 50, 40], score=0.3,
             name='car_(automobile)'),
        # far from anything
        dict(image_id=1, bbox=[80, 80, 95, 95], score=0.7, name='sheep')]
    groups = dict(base=['car_(automobile)'], novel=['sheep'],
                  other=['gorilla'])
    m = lvis_vocab_metrics(gt, dets, groups)
    s = m['summary']
    assert s['AP_other'] == pytest.approx(1.0)
    # the car's only same-name box is right (IoU > 0.9): AP of the class
    # is still high; the renaming is in the rename rate
    assert s['AP_base'] > 0.5
    assert s['rename_base'] == 1.0
    assert m['rename']['base']['renamed_to'] == [['pickup_truck', 1]] or \
        m['rename']['base']['renamed_to'] == [('pickup_truck', 1)]
    assert s['rename_other'] == 0.0
    assert np.isnan(s['AP_novel'])  # no sheep in the GT
    assert m['outside_gt'] == pytest.approx(1 / 4)
    # without the right-named car box, the car class has AP 0
    m2 = lvis_vocab_metrics(gt, dets[:2] + dets[3:], groups)
    assert m2['summary']['AP_base'] == 0.0
    assert m2['summary']['AP_other'] == pytest.approx(1.0)


def test_derange_deals_clip_rows_to_other_words():
    from mmdet_clipjoint.models.layers.phrase_encoders import \
        ConceptWordTable
    words = ['car', 'dog', 'cat', 'apple', 'blorp']
    clip = ConceptWordTable(words, init_vocabulary=['lvis', 'coco'])
    perm = ConceptWordTable(words, init_vocabulary=['lvis', 'coco'],
                            init_derange=0)
    sim = clip.weight @ perm.weight.T
    # the 4 vocabulary words: each row is another word's row
    match = (sim[:4, :4] > 1 - 1e-5)
    assert match.sum() == 4 and not match.diagonal().any()
    assert torch.allclose(clip.weight[4], perm.weight[4])  # random word
    with pytest.raises(ValueError, match='init_vocabulary'):
        ConceptWordTable(words, init_derange=0)


@pytest.fixture(scope='module')
def lvis_smoke(tmp_path_factory):
    out = str(tmp_path_factory.mktemp('lvis_vocab'))
    return out, prepare_lvis_vocab_data(osp.join(out, 'data'),
                                        LVIS_VOCAB_PRESETS['smoke'])


def test_val_holds_three_groups_and_training_no_novel_box(lvis_smoke):
    _, data = lvis_smoke
    root = data['data_root']
    assert not set(data['other']) & set(data['base'] + data['novel'])
    val = _read(root, data['val_ann_file'])
    names = {c['id']: c['name'] for c in val['categories']}
    drawn = {names[a['category_id']] for a in val['annotations']}
    for g in ('base', 'novel', 'other'):
        assert drawn & {data['lvis'][c] for c in data[g]}, g
    assert 'car_(automobile)' in names.values()  # LVIS spelling
    train = _read(root, data['det'])
    tnames = {c['id']: c['name'] for c in train['categories']}
    assert sorted(tnames.values()) == sorted(data['base'])
    assert train['annotations'] and all(
        tnames[a['category_id']] in data['base']
        for a in train['annotations'])
    # the texts name the unboxed novel objects, never an other class
    phrases = {r['phrase'] for line in _read(root, data['grounding'])
               for r in line['grounding']['regions']}
    from mmdet_clipjoint.datasets.synonyms import class_phrases
    assert phrases & {p for c in data['novel'] for p in class_phrases(c)}
    assert not phrases & {p for c in data['other']
                          for p in class_phrases(c)}
    captions = ' '.join(c['caption'] for c in _read(root, data['caption']))
    for c in data['other']:
        assert class_phrases(c)[0] not in captions


def test_arms_configs(lvis_smoke):
    out, data = lvis_smoke

    def cfg(arm):
        return build_lvis_vocab_cfg(arm, data, osp.join(out, arm),
                                    det_iters=5, batch=2, img_size=96)
    kinds = {a: [d.type for d in cfg(a).train_dataloader.dataset.datasets]
             for a in ('det', 'captions', 'grounding', 'both')}
    assert kinds['det'] == ['CocoDataset']
    assert kinds['captions'] == ['CocoDataset', 'CaptionPhraseDataset']
    assert kinds['grounding'] == ['CocoDataset', 'GroundingPhraseDataset']
    assert len(kinds['both']) == 3
    assert cfg('both').train_cfg.max_iters == 15  # 5 of each kind
    enc = {a: cfg(a).model.bbox_head.text_bank.phrase_encoder
           for a in ('both', 'both-frozen', 'both-permuted',
                     'both-random-words')}
    assert enc['both'].learnable and 'init_derange' not in enc['both']
    assert enc['both'].init_vocabulary == ['lvis', 'coco']
    assert not enc['both-frozen'].learnable
    assert enc['both-permuted'].init_derange == 0
    assert enc['both-random-words'].init_vocabulary is None
    assert not enc['both-random-words'].init_part_words
    # both-ignore: grounding's class-less boxes ignored, not background
    assert cfg('both-ignore').model.bbox_head.honour_ignored is True
    assert 'honour_ignored' not in cfg('both').model.bbox_head
    # every LVIS name's words are concept words (set_vocabulary('lvis'))
    words = set(cfg('det').model.bbox_head.text_bank.extra_words)
    assert {'automobile', 'gorilla', 'kiwi', 'fruit'} <= words
    assert set(LVIS_VOCAB_ARMS) >= {'det', 'captions', 'grounding', 'both'}


def test_tool_smoke_run_writes_records_and_report(lvis_smoke):
    """2 arms x 1 seed through the command line; a second call resumes."""
    import importlib.util
    out, _ = lvis_smoke
    spec = importlib.util.spec_from_file_location(
        'benchmark_lvis_vocab', osp.join(osp.dirname(__file__), '..', '..',
                                         'tools', 'benchmark_lvis_vocab.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    argv = ['--preset', 'smoke', '--out', out, '--arms', 'det',
            'both-permuted', '--threads', '1']
    recs = tool.main(argv)
    assert [r['arm'] for r in recs] == ['det', 'both-permuted']
    for r in recs:
        assert set(r['summary']) >= {'AP_novel', 'AP_other', 'AP_base',
                                     'rename_base'}
        assert len(r['groups']['other']) == len(OTHER_LVIS_EMOJI)
        assert osp.isfile(osp.join(out, 'runs',
                                   f'{r["arm"]}_s0.json'))
    md = open(osp.join(out, 'lvis_vocab.md')).read()
    assert '| det | 1 |' in md and '| both-permuted | 1 |' in md
    again = tool.main(argv)
    assert [r['seconds'] for r in again] == [r['seconds'] for r in recs]
    # --report-only reads what is finished and trains nothing: a missing
    # run is named, not trained
    logs = []
    from mmdet_clipjoint.benchmark.lvis_vocab import run_lvis_vocab
    only = run_lvis_vocab('smoke', out, ['det', 'both', 'both-permuted'],
                          report_only=True, log=logs.append)
    assert [r['arm'] for r in only] == ['det', 'both-permuted']
    assert not osp.exists(osp.join(out, 'runs', 'both_s0.json'))
    assert any('both_s0' in line for line in logs)
    # nothing finished: a clear error, not an empty report
    with pytest.raises(FileNotFoundError, match='run without --report-only'):
        run_lvis_vocab('smoke', out, ['both'], report_only=True)
    with pytest.raises(FileNotFoundError, match='no finished run'):
        run_lvis_vocab('smoke', osp.join(out, 'elsewhere'), ['det'],
                       report_only=True)
    assert '| novel renamed |' in md


def test_rescore_objectness_evaluates_kept_checkpoints(lvis_smoke, tmp_path):
    """--rescore-objectness scores a kept checkpoint again with the
    detector's confidence ** G: one record per G (resumable), a report
    with the paired difference against G = 1; a run without its
    checkpoint is named and skipped; a G outside [0, 1] is refused."""
    import importlib.util
    from mmdet_clipjoint.benchmark.lvis_vocab import rescore_lvis_vocab
    out, _ = lvis_smoke
    mine = str(tmp_path)
    os.symlink(osp.join(out, 'data'), osp.join(mine, 'data'))
    spec = importlib.util.spec_from_file_location(
        'benchmark_lvis_vocab', osp.join(osp.dirname(__file__), '..', '..',
                                         'tools', 'benchmark_lvis_vocab.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    common = ['--preset', 'smoke', '--out', mine, '--arms', 'det',
              '--threads', '1']
    tool.main(common + ['--keep-checkpoints'])
    recs = tool.main(common + ['--rescore-objectness', '0.5', '0'])
    assert sorted(r['objectness_power'] for r in recs) == [0.0, 0.5, 1.0]
    for g in ('0.5', '0'):
        assert osp.isfile(osp.join(mine, 'rescored', f'det_s0_g{g}.json'))
    for r in recs:
        assert set(r['summary']) >= {'AP_novel', 'AP_base', 'rename_base'}
    md = open(osp.join(mine, 'lvis_vocab_rescore.md')).read()
    assert '| det | 0.5 | 1 |' in md and '| det: g=0 − g=1 |' in md
    again = tool.main(common + ['--rescore-objectness', '0.5', '0'])
    assert [r.get('seconds') for r in again] == \
        [r.get('seconds') for r in recs]
    # --report-only evaluates nothing: a missing G is named
    logs = []
    only = rescore_lvis_vocab(mine, ['det'], [0], [0.5, 0.75],
                              log=logs.append, report_only=True)
    assert sorted(r['objectness_power'] for r in only) == [0.5, 1.0]
    assert any('g=0.75] not rescored' in line for line in logs)
    assert not osp.exists(osp.join(mine, 'rescored', 'det_s0_g0.75.json'))
    # without its checkpoint a run is named and skipped
    for ckpt in glob.glob(osp.join(mine, 'work_dirs', '*', '*.pth')):
        os.remove(ckpt)
    logs = []
    skipped = rescore_lvis_vocab(mine, ['det'], [0], [0.25],
                                 log=logs.append)
    assert [r['objectness_power'] for r in skipped] == [1.0]
    assert any('no kept checkpoint' in line for line in logs)
    with pytest.raises(ValueError, match='objectness_power'):
        rescore_lvis_vocab(mine, ['det'], [0], [1.5])


def _record(arm, seed, **summary):
    base = dict(AP_novel=0.0, AP_other=0.0, AP_base=0.5, rename_base=0.1,
                rename_novel=1.0, rename_other=1.0)
    base.update(summary)
    return dict(arm=arm, seed=seed, summary=base,
                groups=dict(base=['car_(automobile)'],
                            novel=['sheep', 'carrot'], other=['kiwi_fruit']),
                rename=dict(base=dict(renamed_to=[['truck', seed + 1]])))


def test_report_pairs_by_seed_and_judges_renames_lower_better():
    """The report's arm rows, a paired cell against a hand computation,
    the rename columns judged lower-is-better, and the gain that needs
    CLIP rows (a difference of differences)."""
    from mmdet_clipjoint.benchmark.lvis_vocab import lvis_vocab_report
    novel = {'det': [0.0, 0.0, 0.0], 'captions': [0.02, 0.05, 0.03],
             'det-permuted': [0.0, 0.0, 0.0],
             'both': [0.04, 0.06, 0.05], 'both-permuted': [0.03, 0.04, 0.05]}
    renamed = {'det': [0.2, 0.3, 0.25], 'captions': [0.1, 0.2, 0.1],
               'det-permuted': [0.2, 0.2, 0.2], 'both': [0.1, 0.1, 0.1],
               'both-permuted': [0.1, 0.1, 0.1]}
    recs = [_record(a, s, AP_novel=novel[a][s], rename_base=renamed[a][s])
            for a in novel for s in range(3)]
    md = lvis_vocab_report(recs)
    lines = md.splitlines()
    # arms in the table's order (LVIS_VOCAB_ARMS), three seeds each
    rows = [ln.split(' | ')[0][2:] for ln in lines
            if ln.startswith('| ') and ln.split(' | ')[1:2] == ['3']]
    assert rows == ['det', 'captions', 'both', 'det-permuted',
                    'both-permuted']
    assert '| captions | 3 | 3.3 ± 1.2 |' in md
    # captions - det: novel diffs 2, 5, 3 points: mean 3.33, sd 1.53,
    # t(0.975, 2) = 4.303 -> half-width 3.79
    row = next(ln for ln in lines if ln.startswith('| captions − det '))
    cells = row.split(' | ')
    assert cells[1] == '+3.3 [-0.5, +7.1] 3/3 tie'
    # base renamed: diffs -10, -10, -15 points, lower on every seed ->
    # counted as ahead, and an interval below 0 is a win
    assert cells[4] == '-11.7 [-18.8, -4.5] 3/3 win'
    # (both - det) - (both-permuted - det-permuted): novel 1, 2, 0 points
    quad = next(ln for ln in lines if 'the gain that needs CLIP rows' in ln)
    assert quad.split(' | ')[1] == '+1.0 [-1.5, +3.5] 2/3 tie'
    # an arm with no records gets no pair row
    assert '| grounding − det ' not in md
    assert 'truck (6)' in md   # renamed_to counts summed over the seeds
