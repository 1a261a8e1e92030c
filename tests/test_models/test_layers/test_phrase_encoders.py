# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Phrase encoders of the word-region alignment: the concept-word table
(tokenizing, encoding, vocabulary init, determinism, growth, checkpoints)
and the frozen CLIP text tower (random weights, offline)."""
import logging

import pytest
import torch
import torch.nn.functional as F
from mmengine.logging import MMLogger

import mmdet_clipjoint  # noqa: F401
from mmdet.registry import MODELS
from mmdet_clipjoint.models.layers import (DEFAULT_STOPWORDS,
                                           CLIPPhraseEncoder,
                                           ConceptWordTable)
from mmdet_clipjoint.models.utils import encode_class_names
from mmdet_clipjoint.models.utils.vocabularies import load_vocabulary

WORDS = ['dog', 'frisbee', 'brown', 'grass', 'person', 'cat']


def build(**kw):
    cfg = dict(type='ConceptWordTable', words=WORDS, embed_dim=32)
    cfg.update(kw)
    return MODELS.build(cfg)


class LogCapture(logging.Handler):

    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


@pytest.fixture
def log_lines():
    logger = MMLogger.get_current_instance()
    handler = LogCapture()
    logger.addHandler(handler)
    yield handler.lines
    logger.removeHandler(handler)


def test_tokenize_lowercases_splits_and_drops_stopwords():
    table = build()
    assert table.tokenize('A brown dog, next to the GRASS!') == [2, 0, 3]
    assert table.tokenize("dog's frisbee-dog") == [0, 1, 0]
    assert table.tokenize('the of and') == []
    assert {'a', 'the', 'of', 'with', 'next', 'to', 'near'} <= \
        DEFAULT_STOPWORDS


def test_unknown_words_raise_a_listing_error_or_are_ignored():
    table = build()
    with pytest.raises(ValueError, match=r"\['leash', 'zebra'\]"):
        table.tokenize('a dog on a leash near a zebra')
    assert table.tokenize('a dog on a leash', unknown='ignore') == [0]
    lenient = build(unknown='ignore')
    assert lenient.tokenize('zebra dog') == [0]
    with pytest.raises(ValueError, match='unknown='):
        table.tokenize('dog', unknown='skip')


def test_encode_phrases_is_the_normalised_mean_of_word_vectors():
    table = build()
    w = F.normalize(table.weight.detach(), dim=-1)
    out = table.encode_phrases(['a brown dog', 'cat', 'dog dog frisbee'])
    assert out.shape == (3, 32)
    torch.testing.assert_close(out.norm(dim=1), torch.ones(3))
    torch.testing.assert_close(out[0], F.normalize(w[2] + w[0], dim=0))
    torch.testing.assert_close(out[1], w[5])
    # every occurrence counts
    torch.testing.assert_close(out[2], F.normalize(2 * w[0] + w[1], dim=0))
    assert build()(['cat']).shape == (1, 32)  # forward alias


def test_phrase_without_known_word_is_an_error():
    table = build()
    with pytest.raises(ValueError, match='no word of the ConceptWordTable'):
        table.encode_phrases(['dog', 'on the and'])
    with pytest.raises(ValueError, match='no word'):
        table.encode_phrases(['zebra'], unknown='ignore')
    with pytest.raises(TypeError, match='list of phrases'):
        table.encode_phrases('dog')


@pytest.mark.parametrize('words,match', [
    (['dog', 'hot dog'], 'single words'),
    (['dog', 'b52'], 'single words'),
    (['dog', 'the'], 'stopwords'),
    (['dog', 'Dog'], 'repeat'),
    ([], 'at least one word'),
])
def test_bad_word_lists(words, match):
    with pytest.raises(ValueError, match=match):
        build(words=words)


def test_bad_arguments():
    with pytest.raises(TypeError, match='list of words'):
        build(words='dog cat')
    with pytest.raises(ValueError, match='embed_dim'):
        build(init_vocabulary='coco', embed_dim=32)
    with pytest.raises(ValueError, match='unknown vocabulary'):
        build(init_vocabulary='imagenet21k', embed_dim=512)
    with pytest.raises(ValueError, match='unknown='):
        build(unknown='skip')


def test_vocabulary_init_uses_the_real_clip_rows(log_lines):
    table = build(embed_dim=512, init_vocabulary='coco')
    names, emb = load_vocabulary('coco')
    # exactly the normalised COCO rows for class names, random otherwise
    for word in ('dog', 'frisbee', 'person', 'cat'):
        torch.testing.assert_close(table.weight[table.word_to_index[word]],
                                   emb[names.index(word)], rtol=0, atol=0)
        torch.testing.assert_close(table.encode_phrases([word])[0],
                                   emb[names.index(word)])
    for word in ('brown', 'grass'):  # no COCO class: random unit rows
        row = table.weight[table.word_to_index[word]].detach()
        assert abs(row.norm() - 1) < 1e-5
        assert (emb @ row).abs().max() < 0.5
    assert any('4 from the shipped' in s and '2 at random' in s
               for s in log_lines), log_lines


def test_vocabulary_init_matches_names_case_insensitively():
    # Objects365 spells its classes capitalised ('Person')
    table = ConceptWordTable(['person', 'zebra'], init_vocabulary='objects365')
    names, emb = load_vocabulary('objects365')
    lower = [n.lower() for n in names]
    torch.testing.assert_close(table.weight[0], emb[lower.index('person')])


def test_deterministic_by_seed():
    a, b, c = build(seed=3), build(seed=3), build(seed=4)
    torch.testing.assert_close(a.weight, b.weight, rtol=0, atol=0)
    assert not torch.allclose(a.weight, c.weight)
    # building does not consume the global RNG
    torch.manual_seed(0)
    x = torch.rand(1)
    torch.manual_seed(0)
    build()
    assert torch.equal(torch.rand(1), x)


def test_learnable_flag():
    assert build().weight.requires_grad
    assert not build(learnable=False).weight.requires_grad


def test_add_words(log_lines):
    table = build(embed_dim=512, init_vocabulary='coco')
    before = table.weight.detach().clone()
    idx = table.add_words(['Zebra', 'dog', 'striped'])
    assert idx == [6, 0, 7] and table.num_words == 8
    assert table.words[-2:] == ['zebra', 'striped']
    torch.testing.assert_close(table.weight[:6], before)  # rows kept
    names, emb = load_vocabulary('coco')
    torch.testing.assert_close(table.weight[6], emb[names.index('zebra')])
    assert table.encode_phrases(['a striped zebra']).shape == (1, 512)
    assert any('already in the table' in s for s in log_lines)
    assert any('1 from the shipped' in s and '1 at random' in s
               for s in log_lines)
    # deterministic: the same additions give the same rows
    other = build(embed_dim=512, init_vocabulary='coco')
    other.add_words(['zebra', 'striped'])
    torch.testing.assert_close(other.weight, table.weight, rtol=0, atol=0)
    with pytest.raises(ValueError, match='single words'):
        table.add_words(['ice cream'])


def test_checkpoint_round_trip_and_word_list_check():
    table = build(seed=7)
    with torch.no_grad():
        table.weight.mul_(2)  # "trained"
    state = table.state_dict()
    assert set(state) == {'weight', 'words_digest'}
    fresh = build(seed=0)
    fresh.load_state_dict(state)
    torch.testing.assert_close(fresh.weight, table.weight)
    # same size, other order: refused, rows untouched
    reordered = build(words=WORDS[::-1])
    keep = reordered.weight.detach().clone()
    with pytest.raises(RuntimeError, match='another \\(or reordered\\)'):
        reordered.load_state_dict(state)
    torch.testing.assert_close(reordered.weight, keep)
    # other size: a clear message
    with pytest.raises(RuntimeError, match='holds 6 word vectors'):
        build(words=WORDS[:3]).load_state_dict(state)
    # a grown table loads into a table built with the grown list
    table.add_words(['zebra'])
    grown = build(words=WORDS + ['zebra'])
    grown.load_state_dict(table.state_dict())
    torch.testing.assert_close(grown.weight, table.weight)


# ---------------------------------------------------------------------------
# CLIPPhraseEncoder (ViT-B-32 with random weights: no download)
@pytest.fixture(scope='module')
def clip_encoder():
    enc = MODELS.build(dict(type='CLIPPhraseEncoder', clip_pretrained=None))
    enc.init_weights()
    return enc


def test_clip_encoder_matches_the_clip_text_helper(clip_encoder):
    phrases = ['brown dog', 'frisbee', 'a man riding a horse']
    out = clip_encoder.encode_phrases(phrases)
    assert out.shape == (3, 512) and out.dtype == torch.float32
    assert not out.requires_grad
    torch.testing.assert_close(out.norm(dim=1), torch.ones(3))
    ref = encode_class_names(phrases, 'ViT-B-32',
                             model=clip_encoder.clip_model,
                             templates=('a photo of a {}.', ))
    torch.testing.assert_close(out, ref)
    assert clip_encoder.embed_dim == 512
    # distinct phrases give distinct embeddings
    assert (out[0] @ out[1]).abs() < 0.9999


def test_clip_encoder_cache_and_order(clip_encoder):
    a = clip_encoder.encode_phrases(['cat', 'dog', 'cat'])
    torch.testing.assert_close(a[0], a[2])
    b = clip_encoder.encode_phrases(['dog', 'tree', 'cat'])  # partly cached
    torch.testing.assert_close(b[0], a[1])
    torch.testing.assert_close(b[2], a[0])
    assert clip_encoder.encode_phrases([]).shape == (0, 512)


def test_clip_encoder_tower_outside_state_dict_and_frozen(clip_encoder):
    assert dict(clip_encoder.state_dict()) == {}
    assert list(clip_encoder.parameters()) == []
    assert clip_encoder.clip_model.visual is None
    assert not any(p.requires_grad
                   for p in clip_encoder.clip_model.parameters())


def test_clip_encoder_random_weights_are_seeded(clip_encoder):
    same = CLIPPhraseEncoder(clip_pretrained=None, cache_size=0)
    torch.testing.assert_close(
        same.encode_phrases(['dog']), clip_encoder.encode_phrases(['dog']))


@pytest.mark.parametrize('kw,err,match', [
    (dict(clip_model='ViT-Nope-99'), ValueError, 'Unknown open_clip'),
    (dict(clip_pretrained='/no/such/clip.bin'), FileNotFoundError,
     'does not exist'),
    (dict(template='a photo'), ValueError, 'exactly one'),
    (dict(cache_size=-1), ValueError, 'cache_size'),
])
def test_clip_encoder_bad_arguments(kw, err, match):
    cfg = dict(clip_pretrained=None)
    cfg.update(kw)
    with pytest.raises(err, match=match):
        CLIPPhraseEncoder(**cfg)


def test_several_vocabularies_and_part_words(log_lines):
    """Issue 26 item 2: LVIS names first, then COCO names, and the words of
    multi-word names from the mean of those names' rows."""
    from mmdet_clipjoint.models.utils import vocabulary_word_rows
    words = ['dog', 'teddy', 'traffic', 'brown', 'hair']
    table = ConceptWordTable(words, init_vocabulary=['lvis', 'coco'],
                             init_part_words=True)
    lvis, lemb = load_vocabulary('lvis')
    lower = [n.lower() for n in lvis]
    # a name of the first vocabulary: its row exactly
    torch.testing.assert_close(table.weight[0], lemb[lower.index('dog')],
                               rtol=0, atol=0)
    # 'teddy': only in multi-word names (LVIS teddy_bear, COCO teddy bear)
    rows, sources = vocabulary_word_rows(['teddy'], ['lvis', 'coco'], True)
    expected = torch.nn.functional.normalize(
        (lemb[lower.index('teddy_bear')] +
         load_vocabulary('coco')[1][load_vocabulary('coco')[0].index(
             'teddy bear')]) / 2, dim=-1)
    torch.testing.assert_close(table.weight[1], expected)
    assert sources['teddy'] == 'mean of 2 lvis / coco names'
    # 'brown' is in no name: random, far from every row
    row = table.weight[3].detach()
    assert (lemb @ row).abs().max() < 0.5
    assert any("from the shipped 'lvis' / 'coco'" in s and 'at random' in s
               for s in log_lines), log_lines
    # without part words, 'teddy' and 'traffic' start at random
    plain = ConceptWordTable(words, init_vocabulary=['lvis', 'coco'])
    assert (lemb @ plain.weight[1].detach()).abs().max() < 0.5
    torch.testing.assert_close(plain.weight[0], table.weight[0])


def test_vocabulary_list_is_checked():
    with pytest.raises(ValueError, match='unknown vocabulary'):
        ConceptWordTable(['dog'], init_vocabulary=['lvis', 'imagenet'])
    with pytest.raises(ValueError, match='names no vocabulary'):
        ConceptWordTable(['dog'], init_vocabulary=[])
