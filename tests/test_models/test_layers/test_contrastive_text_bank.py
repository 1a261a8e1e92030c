# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mmdet.registry import MODELS
import mmdet_clipjoint  # noqa: F401
from mmdet_clipjoint.models.utils import (encode_class_names,
                                          save_embeddings_file)
from ...helpers import register_tiny_clip

NAMES = ('red circle', 'blue square', 'green triangle')


def build(**kw):
    cfg = dict(type='ContrastiveTextBank', class_names=NAMES, embed_dim=32,
               init_source='random', cache_dir=None)
    cfg.update(kw)
    return MODELS.build(cfg)


def test_forward_shapes_and_temperature():
    bank = build(background='learned', temperature=0.05)
    x = F.normalize(torch.randn(7, 32), dim=-1)
    logits = bank(x)
    assert logits.shape == (7, 4)
    assert bank.num_logits == 4
    # cosine / tau: bounded by 1 / tau
    assert logits.abs().max() <= 1 / 0.05 + 1e-4
    t = bank.text_embeddings()
    torch.testing.assert_close(logits, x @ t.t() / 0.05)


def test_zero_background_and_no_background():
    x = F.normalize(torch.randn(2, 32), dim=-1)
    z = build(background='zero')(x)
    assert z.shape == (2, 4) and (z[:, -1] == 0).all()
    assert build(background=None)(x).shape == (2, 3)


def test_temperature_is_clamped_to_range():
    bank = build(temperature=0.07, temperature_range=(0.02, 0.5))
    with torch.no_grad():
        bank.log_scale.fill_(math.log(1 / 1e-6))  # tau far below min
    assert torch.allclose(bank.temperatures(), torch.tensor(0.02))
    with torch.no_grad():
        bank.log_scale.fill_(math.log(1 / 100.))
    assert torch.allclose(bank.temperatures(), torch.tensor(0.5))


def test_gradients_and_frozen():
    bank = build()
    x = F.normalize(torch.randn(4, 32), dim=-1)
    bank(x).sum().backward()
    assert bank.embeddings.grad is not None
    assert bank.log_scale.grad is not None
    frozen = build(learnable=False, learn_temperature=False)
    assert not frozen.embeddings.requires_grad
    assert not frozen.log_scale.requires_grad


def test_init_from_file_pt_and_npy(tmp_path):
    emb = F.normalize(torch.randn(3, 32), dim=-1)
    pt = str(tmp_path / 'e.pt')
    save_embeddings_file(pt, emb, NAMES, model='x')
    bank = build(init_source='file', embeddings_file=pt)
    bank.init_weights()
    torch.testing.assert_close(bank.embeddings.data, emb)
    npy = str(tmp_path / 'e.npy')
    np.save(npy, emb.numpy())
    bank = build(init_source='file', embeddings_file=npy)
    bank.init_weights()
    torch.testing.assert_close(bank.embeddings.data, emb)


@pytest.mark.parametrize('case', ['missing', 'shape', 'nan', 'names',
                                  'corrupt'])
def test_bad_embeddings_file(tmp_path, case):
    path = str(tmp_path / 'e.pt')
    emb = torch.randn(3, 32)
    if case == 'shape':
        save_embeddings_file(path, torch.randn(4, 32), NAMES + ('x', ))
    elif case == 'nan':
        emb[1, 2] = float('nan')
        save_embeddings_file(path, emb, NAMES)
    elif case == 'names':
        save_embeddings_file(path, emb, NAMES[::-1])
    elif case == 'corrupt':
        with open(path, 'wb') as f:
            f.write(b'not a checkpoint')
    bank = build(init_source='file', embeddings_file=path)
    err = FileNotFoundError if case == 'missing' else ValueError
    match = {'missing': 'does not exist', 'shape': 'shape', 'nan': 'NaN',
             'names': 'differ', 'corrupt': 'could not be read'}[case]
    with pytest.raises(err, match=match):
        bank.init_weights()


def test_init_from_tiny_clip_checkpoint(tmp_path):
    import open_clip
    name = register_tiny_clip(tmp_path)
    torch.manual_seed(0)
    model = open_clip.create_model(name, pretrained=None)
    ckpt = str(tmp_path / 'tiny_clip.pt')
    torch.save(model.state_dict(), ckpt)
    templates = ('a photo of a {}.', 'a drawing of a {}.')
    bank = build(init_source='clip', clip_model=name, clip_pretrained=ckpt,
                 templates=templates)
    bank.init_weights()
    ref = encode_class_names(NAMES, name, model=model.eval(),
                             templates=templates)
    torch.testing.assert_close(bank.embeddings.data, ref)
    # the result lives in the state dict: a fresh bank needs no CLIP
    fresh = build(init_source='clip', clip_model=name,
                  clip_pretrained='/nonexistent/ckpt.bin')
    fresh.load_state_dict(bank.state_dict())
    torch.testing.assert_close(fresh.embeddings, bank.embeddings)


def test_clip_init_uses_file_cache(tmp_path):
    import open_clip
    name = register_tiny_clip(tmp_path)
    ckpt = str(tmp_path / 'tiny.pt')
    torch.save(open_clip.create_model(name).state_dict(), ckpt)
    cache = str(tmp_path / 'cache')
    a = build(init_source='clip', clip_model=name, clip_pretrained=ckpt,
              cache_dir=cache)
    a.init_weights()
    import os
    assert len(os.listdir(cache)) == 1
    b = build(init_source='clip', clip_model=name, clip_pretrained=ckpt,
              cache_dir=cache)
    b.init_weights()
    torch.testing.assert_close(a.embeddings, b.embeddings)


def test_offline_tag_error_tells_what_to_do(tmp_path, monkeypatch):
    import open_clip
    name = register_tiny_clip(tmp_path)

    def no_network(*a, **k):
        raise RuntimeError('Failed to download weights: no network')

    monkeypatch.setattr(open_clip, 'create_model', no_network)
    bank = build(init_source='clip', clip_model=name, clip_pretrained=None)
    with pytest.raises(RuntimeError, match='embeddings_file'):
        bank.init_weights()


@pytest.mark.parametrize('kw,match', [
    (dict(init_source='clip', clip_model='ViT-Nope-99'), 'Unknown open_clip'),
    (dict(temperature=0.0), 'temperature'),
    (dict(temperature=-1.0), 'temperature'),
    (dict(init_source='web'), 'init_source'),
    (dict(background='grey'), 'background'),
    (dict(init_source='file'), 'embeddings_file'),
    (dict(class_names=()), 'class_names'),
])
def test_bad_arguments(kw, match):
    with pytest.raises(ValueError, match=match):
        build(**kw)


def test_missing_clip_checkpoint_and_unknown_tag():
    bank = build(init_source='clip', clip_model='ViT-B-32', embed_dim=512,
                 clip_pretrained='/no/such/clip.bin')
    with pytest.raises(FileNotFoundError, match='does not exist'):
        bank.init_weights()
    bank = build(init_source='clip', clip_model='ViT-B-32', embed_dim=512,
                 clip_pretrained='not-a-tag')
    with pytest.raises(ValueError, match='Known tags'):
        bank.init_weights()


def test_initial_embeddings_are_stored_and_old_checkpoints_load():
    """The bank keeps its initial embeddings in the state dict; a state
    dict from before that buffer loads strictly, marked unknown (NaN)."""
    bank = MODELS.build(dict(type='ContrastiveTextBank',
                             class_names=['a', 'b', 'c'], embed_dim=8,
                             init_source='random'))
    bank.init_weights()
    state = bank.state_dict()
    assert torch.equal(state['init_embeddings'], bank.embeddings.detach())
    assert bank.init_embeddings_known
    with torch.no_grad():
        bank.embeddings.add_(1.0)  # training moves the embeddings only
    assert torch.equal(bank.init_embeddings, state['init_embeddings'])
    old = {k: v for k, v in state.items() if k != 'init_embeddings'}
    fresh = MODELS.build(dict(type='ContrastiveTextBank',
                              class_names=['a', 'b', 'c'], embed_dim=8,
                              init_source='random'))
    fresh.load_state_dict(old, strict=True)  # no missing-key error
    assert not fresh.init_embeddings_known
    assert torch.equal(fresh.embeddings, old['embeddings'])


COCO_FEW = ('car', 'truck', 'bus', 'cat', 'dog')


def _coco_bank(**kw):
    cfg = dict(type='ContrastiveTextBank', class_names=COCO_FEW,
               init_source='vocabulary', vocabulary='coco', cache_dir=None)
    cfg.update(kw)
    bank = MODELS.build(cfg)
    bank.init_weights()
    return bank


def test_centre_opens_the_cone_and_keeps_the_order_of_neighbours():
    from mmdet_clipjoint.models.utils.vocabularies import (
        load_vocabulary, vocabulary_centre, vocabulary_embeddings)
    plain, bank = _coco_bank(), _coco_bank(centre='coco')
    raw = vocabulary_embeddings('coco', COCO_FEW)
    mean = load_vocabulary('coco')[1].mean(0)
    # the rows the bank starts from: normalize(t - mean of the 80 rows)
    torch.testing.assert_close(bank.embeddings.data,
                               F.normalize(raw - mean, dim=-1))
    torch.testing.assert_close(bank.init_embeddings, bank.embeddings.data)
    torch.testing.assert_close(bank.text_centre, vocabulary_centre('coco'))
    assert bank.is_centred and not plain.is_centred
    assert not plain.text_centre.any()
    torch.testing.assert_close(plain.embeddings.data, raw)
    off = ~torch.eye(len(COCO_FEW), dtype=torch.bool)
    cos_raw = (raw @ raw.t())[off]
    cos_c = (bank.embeddings @ bank.embeddings.t())[off].detach()
    assert cos_raw.min() > 0.7 and cos_c.mean() < cos_raw.mean() - 0.3
    # car's nearest neighbour stays truck / bus, not an animal
    sim = bank.embeddings @ bank.embeddings.t()
    sim.fill_diagonal_(-2)
    assert COCO_FEW[int(sim[0].argmax())] in ('truck', 'bus')
    assert 'centred on the mean' in bank.init_description
    assert "centre='coco'" in repr(bank)


def test_centre_matches_the_semantic_benchmarks_centred_rows(tmp_path):
    """The benchmark's arm clipjoint-centred (a rows file) starts where the
    option does, up to float rounding: its results speak for the option."""
    from mmdet_clipjoint.benchmark.semantic import text_rows
    path = str(tmp_path / 'centred.pt')
    save_embeddings_file(path, text_rows('centred', COCO_FEW),
                         list(COCO_FEW))
    arm = MODELS.build(dict(type='ContrastiveTextBank', class_names=COCO_FEW,
                            init_source='file', embeddings_file=path,
                            cache_dir=None))
    arm.init_weights()
    bank = _coco_bank(centre='coco')
    torch.testing.assert_close(bank.embeddings.data, arm.embeddings.data,
                               atol=1e-6, rtol=0)


def test_set_classes_centres_new_names_on_the_stored_centre(tmp_path):
    from mmdet_clipjoint.models.utils.vocabularies import (
        vocabulary_centre, vocabulary_embeddings)
    bank = _coco_bank(centre='coco')
    path = str(tmp_path / 'bank.pth')
    torch.save(bank.state_dict(), path)
    # an inference-time bank built without `centre` and loaded from the
    # checkpoint still centres new names: the centre is in the state dict
    loaded = _coco_bank()
    loaded.load_state_dict(torch.load(path))
    assert loaded.is_centred
    new = ('horse', 'sheep', 'train')
    raw = vocabulary_embeddings('coco', new)
    for b in (bank, loaded):
        b.set_classes(new, raw)
        torch.testing.assert_close(
            b.embeddings.data,
            F.normalize(raw - vocabulary_centre('coco'), dim=-1))
    plain = _coco_bank()
    plain.set_classes(new, raw * 3)
    torch.testing.assert_close(plain.embeddings.data, raw)


def test_checkpoint_before_centre_loads_uncentred_and_says_so(
        monkeypatch):
    from mmdet_clipjoint.models.layers import contrastive_text_bank as mod
    said = []
    monkeypatch.setattr(mod, 'print_log', lambda msg, **kw: said.append(msg))
    state = _coco_bank().state_dict()
    del state['text_centre']
    bank = _coco_bank(centre='coco')
    said.clear()
    bank.load_state_dict(state)  # strict: the key is filled, not missing
    assert not bank.is_centred
    assert len(said) == 1 and "centre='coco' is not used" in said[0]
    # without a configured centre nothing needs saying
    said.clear()
    _coco_bank().load_state_dict(state)
    assert not [m for m in said if 'predates' in m]
    torch.testing.assert_close(bank.embeddings.data, state['embeddings'])


@pytest.mark.parametrize('kw, match', [
    (dict(init_source='random', centre='coco'), "init_source='random'"),
    (dict(init_source='vocabulary', vocabulary='coco', centre='imagenet'),
     'shipped vocabulary'),
])
def test_bad_centre(kw, match):
    with pytest.raises(ValueError, match=match):
        MODELS.build(dict(type='ContrastiveTextBank', class_names=COCO_FEW,
                          cache_dir=None, **kw))


def test_centre_needs_rows_of_the_shipped_width(tmp_path):
    path = str(tmp_path / 'emb.pt')
    save_embeddings_file(path, F.normalize(torch.randn(5, 32), dim=-1),
                         list(COCO_FEW))
    bank = MODELS.build(dict(type='ContrastiveTextBank', class_names=COCO_FEW,
                             embed_dim=32, init_source='file',
                             embeddings_file=path, centre='coco',
                             cache_dir=None))
    with pytest.raises(ValueError, match='512-d'):
        bank.init_weights()


def test_phrase_bank_refuses_centre():
    with pytest.raises(ValueError, match='drop `centre`'):
        MODELS.build(dict(
            type='PhraseTextBank', class_names=('red square', ),
            phrase_encoder=dict(type='ConceptWordTable'), embed_dim=32,
            centre='coco', cache_dir=None))
