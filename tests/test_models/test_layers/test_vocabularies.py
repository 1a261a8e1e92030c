# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""The shipped CLIP text embeddings: shapes, row order, banks built from
them, and the errors for names or files they cannot serve."""
import hashlib
import os.path as osp

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config

import mmdet_clipjoint  # noqa: F401
from mmdet.datasets import CocoDataset, VOCDataset
from mmdet.registry import MODELS
from mmdet_clipjoint.models.utils import vocabularies as V

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))
SHAPES = dict(coco=(80, 512), lvis=(1203, 512), objects365=(365, 512))
#: PROVENANCE.md: VOC's rows in the COCO file, in mmdet's VOC order
VOC_ROWS = [4, 1, 14, 8, 39, 5, 2, 15, 56, 19, 60, 16, 17, 3, 0, 58, 18, 57,
            6, 62]


@pytest.mark.parametrize('name', sorted(SHAPES))
def test_shipped_files_match_the_documented_shapes(name):
    fname, _, sha = V.VOCABULARIES[name]
    path = osp.join(V.VOCABULARY_DIR, fname)
    raw = np.load(path)
    assert raw.shape == SHAPES[name] and raw.dtype == np.float16
    with open(path, 'rb') as f:
        assert hashlib.sha256(f.read()).hexdigest() == sha
    names, emb = V.load_vocabulary(name)
    assert len(names) == SHAPES[name][0]
    # the files are unnormalised (norms ~8-13); the loader normalises
    norms = np.linalg.norm(raw.astype(np.float32), axis=1)
    assert 5 < norms.min() and norms.max() < 20
    torch.testing.assert_close(emb.norm(dim=1), torch.ones(len(names)))
    torch.testing.assert_close(
        emb, F.normalize(torch.from_numpy(raw.astype(np.float32)), dim=-1))


@pytest.mark.parametrize('other', ['lvis', 'objects365'])
def test_row_order_agrees_with_the_coco_file(other):
    """For each COCO class the other file names too, its nearest row there
    is the row of the same name (the provenance note's check)."""
    coco_names, coco = V.load_vocabulary('coco')
    names, emb = V.load_vocabulary(other)
    index = {n.lower().replace('_', ' '): i for i, n in enumerate(names)}
    shared = [(i, index[n]) for i, n in enumerate(coco_names) if n in index]
    assert len(shared) >= 50
    nearest = (coco @ emb.t()).argmax(1)
    assert all(int(nearest[i]) == j for i, j in shared)


def test_voc_rows_come_from_the_coco_file():
    _, coco = V.load_vocabulary('coco')
    voc = V.vocabulary_embeddings('voc', VOCDataset.METAINFO['classes'])
    torch.testing.assert_close(voc, coco[VOC_ROWS])


def _bank(**kw):
    bank = MODELS.build(dict(type='ContrastiveTextBank', init_source='vocabulary',
                             cache_dir=None, **kw))
    bank.init_weights()
    return bank


def test_bank_from_a_shipped_vocabulary_equals_the_normalised_file():
    bank = _bank(class_names='CocoDataset', vocabulary='coco')
    _, coco = V.load_vocabulary('coco')
    torch.testing.assert_close(bank.embeddings.data, coco)
    torch.testing.assert_close(bank.init_embeddings, coco)
    assert "'coco' vocabulary" in bank.init_description
    # a subset in another order, one class through prompt_aliases
    bank = _bank(class_names=['dog', 'sofa', 'person'], vocabulary='coco',
                 prompt_aliases=dict(sofa='couch'))
    rows = [CocoDataset.METAINFO['classes'].index(n)
            for n in ('dog', 'couch', 'person')]
    torch.testing.assert_close(bank.embeddings.data, coco[rows])


def test_main_configs_initialise_from_the_shipped_vocabulary():
    for cfg, head in (
        ('clipjoint_faster-rcnn/clipjoint-faster-rcnn_r50_fpn_1x_voc0712.py',
         lambda m: m.roi_head.bbox_head),
        ('clipjoint_rtmdet/clipjoint-rtmdet_tiny_8xb32-300e_coco.py',
         lambda m: m.bbox_head),
    ):
        model = Config.fromfile(osp.join(ROOT, 'configs', cfg)).model
        bank_cfg = head(model).text_bank
        assert bank_cfg.init_source == 'vocabulary'
        bank = MODELS.build(bank_cfg)
        bank.init_weights()
        expect = V.vocabulary_embeddings(
            'coco', bank.class_names, bank.prompt_aliases)
        torch.testing.assert_close(bank.embeddings.data, expect)


def test_unknown_vocabulary_and_unnamed_classes_are_refused():
    with pytest.raises(ValueError, match="unknown vocabulary 'imagenet'"):
        MODELS.build(dict(type='ContrastiveTextBank', class_names=['a'],
                          init_source='vocabulary', vocabulary='imagenet'))
    with pytest.raises(ValueError, match='needs `vocabulary`'):
        MODELS.build(dict(type='ContrastiveTextBank', class_names=['a'],
                          init_source='vocabulary'))
    with pytest.raises(ValueError, match=r"does not name 1 of the 2 classes "
                       r"\(\['red circle'\]\)"):
        _bank(class_names=['dog', 'red circle'], vocabulary='coco')


def test_an_alias_wins_over_the_class_name():
    """prompt_aliases is what the user wrote: with a shipped vocabulary it
    is looked up instead of the class's own name, and an alias the
    vocabulary does not name is an error (not the name's row, silently)."""
    _, coco = V.load_vocabulary('coco')
    rows = [CocoDataset.METAINFO['classes'].index(n) for n in ('dog', 'truck')]
    bank = _bank(class_names=['dog', 'car'], vocabulary='coco',
                 prompt_aliases=dict(car='truck'))
    torch.testing.assert_close(bank.embeddings.data, coco[rows])
    with pytest.raises(ValueError, match=r"prompt_aliases map 1 class\(es\) "
                       r"to names the shipped 'coco' vocabulary does not "
                       r"have \(class, alias\): \[\('car', 'sedan'\)\]"):
        _bank(class_names=['dog', 'car'], vocabulary='coco',
              prompt_aliases=dict(car='sedan'))
    # VOC's own prompt text keeps serving (tv monitor is COCO's tv)
    emb = V.vocabulary_embeddings('voc', ['tvmonitor'],
                                  dict(tvmonitor='tv monitor'))
    torch.testing.assert_close(
        emb, coco[[CocoDataset.METAINFO['classes'].index('tv')]])


def test_a_damaged_file_is_refused(tmp_path, monkeypatch):
    fname = V.VOCABULARIES['coco'][0]
    arr = np.load(osp.join(V.VOCABULARY_DIR, fname))
    arr[0, 0] = np.nan
    np.save(tmp_path / fname, arr)
    monkeypatch.setattr(V, 'VOCABULARY_DIR', str(tmp_path))
    monkeypatch.setattr(V, '_CACHE', {})
    with pytest.raises(ValueError, match='damaged'):
        V.load_vocabulary('coco')
