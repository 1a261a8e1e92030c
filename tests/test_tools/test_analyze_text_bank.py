# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""tools/analyze_text_bank.py on the 2-iteration checkpoint."""
import json
import math
import os.path as osp

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from ..helpers import load_script
from .conftest import BANK_KEY

PNG_MAGIC = b'\x89PNG\r\n\x1a\n'


def _load_tool():
    return load_script('tools/analyze_text_bank.py')


def assert_png(path):
    """A real, non-blank PNG image."""
    with open(path, 'rb') as f:
        assert f.read(8) == PNG_MAGIC, path
    with Image.open(path) as im:
        im.verify()
    with Image.open(path) as im:
        assert im.format == 'PNG' and min(im.size) >= 200
        px = np.asarray(im.convert('L'), dtype=np.float32)
    assert px.std() > 5, f'{path} looks blank'


def test_analyze_text_bank(trained_clipjoint, tmp_path):
    tool = _load_tool()
    out = str(tmp_path / 'analysis')
    summary = tool.main([
        trained_clipjoint['config'], trained_clipjoint['checkpoint'],
        '--out-dir', out, '--num-images', '4', '--per-image', '10'
    ])
    for name in ('similarity', 'drift', 'temperatures'):
        assert_png(osp.join(out, f'{name}.png'))
    assert_png(osp.join(out, 'region_embeddings_pca.png'))
    with open(osp.join(out, 'summary.json')) as f:
        assert json.load(f) == json.loads(json.dumps(summary))

    state = torch.load(trained_clipjoint['checkpoint'])['state_dict']
    prefix = 'roi_head.bbox_head.branch.text_bank.'
    learned = F.normalize(state[prefix + 'embeddings'], dim=-1)
    bank = summary['banks']['roi_head.bbox_head.branch.text_bank']
    classes = list(trained_clipjoint['data']['classes'])
    assert bank['class_names'] == classes
    assert bank['init_available'] and bank['init_source'] == 'file'
    init = trained_clipjoint['init_embeddings']
    drift = 1 - (init * learned).sum(-1)
    np.testing.assert_allclose(bank['drift'], drift.numpy(), atol=1e-5)
    assert (drift > 0).any()  # two SGD steps moved the embeddings
    # temperatures = 1 / exp(log_scale), clamped to (0.01, 1.0)
    temps = 1 / state[prefix + 'log_scale'].clamp(
        math.log(1.0), math.log(100.0)).exp()
    np.testing.assert_allclose(bank['temperatures'], temps.numpy(),
                               rtol=1e-5)
    assert bank['temperature_labels'] == classes + ['background']
    assert 'unavailable' not in bank['figures']['similarity']['title']

    regions = summary['regions']
    assert regions['num_images'] == 4 and regions['num_points'] == 40
    assert regions['colour_by'] == 'ground truth'
    assert all(-1 <= c < len(classes) for c in regions['labels'])
    assert 0 < sum(regions['explained_variance']) <= 1 + 1e-6


def test_drift_from_the_stored_initialisation(trained_clipjoint, tmp_path):
    """The checkpoint stores the bank's initial embeddings: drift is
    available even when the embeddings file is gone."""
    tool = _load_tool()
    summary = tool.main([
        trained_clipjoint['config'], trained_clipjoint['checkpoint'],
        '--out-dir', str(tmp_path / 'stored'), '--num-images', '0',
        '--cfg-options', f'{BANK_KEY}.embeddings_file={tmp_path}/gone.pt'
    ])
    bank = summary['banks']['roi_head.bbox_head.branch.text_bank']
    assert bank['init_available']
    assert 'stored in the checkpoint' in bank['init_description']
    state = torch.load(trained_clipjoint['checkpoint'])['state_dict']
    prefix = 'roi_head.bbox_head.branch.text_bank.'
    init = F.normalize(state[prefix + 'init_embeddings'], dim=-1)
    # the stored copy is the file's initialisation
    torch.testing.assert_close(init, trained_clipjoint['init_embeddings'],
                               atol=1e-5, rtol=0)
    learned = F.normalize(state[prefix + 'embeddings'], dim=-1)
    np.testing.assert_allclose(bank['drift'],
                               (1 - (init * learned).sum(-1)).numpy(),
                               atol=1e-5)


def test_analyze_without_initialisation(trained_clipjoint, tmp_path):
    """An older checkpoint without the stored copy and a missing embeddings
    file: the figures say the initialisation is unavailable, the learned
    plots are still drawn."""
    tool = _load_tool()
    ckpt = torch.load(trained_clipjoint['checkpoint'])
    ckpt['state_dict'].pop(
        'roi_head.bbox_head.branch.text_bank.init_embeddings')
    old = str(tmp_path / 'old.pth')
    torch.save(ckpt, old)
    out = str(tmp_path / 'analysis')
    summary = tool.main([
        trained_clipjoint['config'], old,
        '--out-dir', out, '--num-images', '0', '--cfg-options',
        f'{BANK_KEY}.embeddings_file={tmp_path}/gone.pt'
    ])
    bank = summary['banks']['roi_head.bbox_head.branch.text_bank']
    assert not bank['init_available'] and bank['drift'] is None
    for name in ('similarity', 'drift'):
        assert 'initialisation unavailable' in bank['figures'][name]['title']
        assert 'gone.pt not found' in bank['figures'][name]['title']
    for name in ('similarity', 'drift', 'temperatures'):
        assert_png(osp.join(out, f'{name}.png'))
    assert not osp.exists(osp.join(out, 'region_embeddings_pca.png'))
    assert 'regions' not in summary

    with pytest.raises(FileNotFoundError):
        tool.main([trained_clipjoint['config'], str(tmp_path / 'no.pth')])
