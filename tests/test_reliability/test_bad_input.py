# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Bad input fails through a real Runner with a clear, actionable error
before the first training iteration (the module-level checks themselves
are unit-tested in tests/test_models)."""
import pytest
import torch
import torch.nn.functional as F
from mmengine.runner import Runner

from mmdet_clipjoint.models.utils import save_embeddings_file
from .common import WIDTH, Recorder, bank_cfg, drop_validation, \
    slim_clipjoint_cfg


def _fails_before_training(cfg, exc, match):
    rec = Recorder()
    with pytest.raises(exc, match=match):
        runner = Runner.from_cfg(cfg)
        runner.register_hook(rec)
        runner.train()
    assert rec.batches == [], 'the error came after training started'


@pytest.fixture
def cfg(synthetic_coco, tmp_path):
    return drop_validation(slim_clipjoint_cfg(tmp_path, synthetic_coco))


def _head(cfg):
    return cfg.model.roi_head.bbox_head


# ------------------------------------------------------- classes vs data
def test_bank_class_count_differs_from_num_classes(cfg):
    bank_cfg(cfg).class_names = bank_cfg(cfg).class_names[:-1]
    _fails_before_training(
        cfg, ValueError,
        r'11 class names but the bbox head has num_classes=12.*one name per '
        'class')


def test_class_order_differs_from_dataset(cfg):
    bank_cfg(cfg).class_names = tuple(reversed(bank_cfg(cfg).class_names))
    _fails_before_training(
        cfg, ValueError,
        r"class names differ from the train dataset's.*\(0, 'orange "
        r"diamond', 'red circle'\).*same names in the same order")


def test_class_count_differs_from_dataset(cfg):
    """Bank and head agree with each other (11) but not with the data."""
    bank_cfg(cfg).class_names = bank_cfg(cfg).class_names[:-1]
    _head(cfg).num_classes = 11
    _fails_before_training(
        cfg, ValueError,
        r"has 11 classes but the train dataset has 12.*`class_names`.*"
        r"metainfo\['classes'\]")


# ------------------------------------------------------- embeddings file
def _emb_file(tmp_path, data, case):
    path = str(tmp_path / 'emb.pt')
    names = list(data['classes'])
    emb = F.normalize(torch.randn(len(names), WIDTH), dim=-1)
    if case == 'corrupt':
        with open(path, 'wb') as f:
            f.write(b'PK\x03\x04 half a zip')
    elif case == 'rows':
        save_embeddings_file(path, emb[:-1], names[:-1])
    elif case == 'width':
        save_embeddings_file(path, torch.randn(len(names), 512), names)
    elif case in ('nan', 'inf'):
        emb[3, 5] = float(case)
        save_embeddings_file(path, emb, names)
    return path


@pytest.mark.parametrize('case,exc,match', [
    ('missing', FileNotFoundError,
     r'does not exist.*dump_text_embeddings.*or fix `embeddings_file`'),
    ('corrupt', ValueError, r'could not be read.*re-create it'),
    ('rows', ValueError, r'shape \(11, 64\), expected \(12, .*Re-dump'),
    ('width', ValueError, r'shape \(12, 512\).*holds \(12, 64\).*embed_dim'),
    ('nan', ValueError, r'NaN or Inf.*re-create'),
    ('inf', ValueError, r'NaN or Inf.*re-create'),
])
def test_bad_embeddings_file(cfg, synthetic_coco, tmp_path, case, exc,
                             match):
    bank_cfg(cfg).update(init_source='file',
                         embeddings_file=_emb_file(tmp_path, synthetic_coco,
                                                   case))
    _fails_before_training(cfg, exc, match)


# --------------------------------------------------------------- CLIP
@pytest.mark.parametrize('kw,exc,match', [
    (dict(clip_model='ViT-Nope-99'), ValueError,
     r"Unknown open_clip model name 'ViT-Nope-99'.*list_models"),
    (dict(clip_pretrained='not-a-tag'), ValueError,
     r"Unknown open_clip pretrained tag 'not-a-tag'.*Known tags.*local "
     'checkpoint'),
    (dict(clip_pretrained='/no/such/open_clip_model.bin'), FileNotFoundError,
     r'CLIP checkpoint .*does not exist.*clip_pretrained'),
])
def test_bad_clip_source(cfg, kw, exc, match):
    bank_cfg(cfg).update(
        {**dict(init_source='clip', clip_model='ViT-B-32', embed_dim=512),
         **kw})
    _fails_before_training(cfg, exc, match)


# ------------------------------------------------------- hyper-parameters
@pytest.mark.parametrize('temperature', [0.0, -0.07])
def test_non_positive_temperature(cfg, temperature):
    bank_cfg(cfg).temperature = temperature
    _fails_before_training(cfg, ValueError,
                           r'temperature=.* must be > 0 and inside')


def test_unknown_score_mode(cfg):
    _head(cfg).score_mode = 'mean'
    _fails_before_training(cfg, ValueError,
                           r"score_mode='mean' is unknown; choose one of")


@pytest.mark.parametrize('loss,match', [
    ('loss_contrast', r'InfoNCELoss loss_weight=-1.0 must be >= 0'),
    ('loss_aux', r'loss_aux.loss_weight must be >= 0'),
])
def test_negative_loss_weight(cfg, loss, match):
    _head(cfg).branch[loss].loss_weight = -1.0
    _fails_before_training(cfg, ValueError, match)
