# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""tools/dump_text_embeddings.py with a tiny registered CLIP model and a
local checkpoint file: the text bank of the config loads the file (names
checked), a bank with other names rejects it."""
import hashlib
import json
import os.path as osp
import sys

import numpy as np
import pytest
import torch

from mmdet.registry import MODELS
from mmdet_clipjoint.models.utils import (ENSEMBLE_TEMPLATES,
                                          encode_class_names)
from ..helpers import TINY_CLIP_CFG, load_script, register_tiny_clip, small_cfg
from .conftest import BANK_KEY, FRCNN_CFG, ROOT, run_cmd

VOC_CFG = osp.join(ROOT, 'configs', 'clipjoint_faster-rcnn',
                   'clipjoint-faster-rcnn_r50_fpn_1x_voc0712.py')


def _load_tool():
    return load_script('tools/dump_text_embeddings.py')


@pytest.fixture(scope='module')
def tiny_clip(tmp_path_factory):
    """The tiny open_clip model (D=32): name, checkpoint file, arch JSON."""
    import open_clip
    d = tmp_path_factory.mktemp('tiny_clip')
    name = register_tiny_clip(d)
    arch = str(d / f'{name}.json')  # for --model-config in a subprocess
    with open(arch, 'w') as f:
        json.dump(TINY_CLIP_CFG, f)
    torch.manual_seed(0)
    ckpt = str(d / 'tiny_clip.bin')
    torch.save(open_clip.create_model(name).state_dict(), ckpt)
    return dict(name=name, ckpt=ckpt, arch=arch)


@pytest.fixture(scope='module')
def tiny_config(tiny_clip, synthetic_coco, tmp_path_factory):
    """A shrunk ClipJoint config whose text bank names the tiny CLIP."""
    root = tmp_path_factory.mktemp('dump_cfg')
    cfg = small_cfg(root, FRCNN_CFG, synthetic_coco, max_iters=2,
                    img_size=128)
    cfg.model.roi_head.bbox_head.text_bank.update(
        clip_model=tiny_clip['name'], clip_pretrained=tiny_clip['ckpt'],
        embed_dim=32, templates=['a photo of a {}.', 'a drawing of a {}.'])
    path = str(root / 'tiny_clip_cfg.py')
    cfg.dump(path)
    return path, cfg


def test_dump_from_config_loads_into_bank(tiny_clip, tiny_config, tmp_path):
    tool = _load_tool()
    path, cfg = tiny_config
    out = str(tmp_path / 'emb.pt')
    meta = tool.main([path, '--out', out, '--no-progress'])
    bank_cfg = cfg.model.roi_head.bbox_head.text_bank
    names = list(bank_cfg.class_names)

    saved = torch.load(out)
    assert saved['class_names'] == names
    assert saved['model'] == tiny_clip['name']
    assert saved['pretrained'] == osp.abspath(tiny_clip['ckpt'])
    with open(tiny_clip['ckpt'], 'rb') as f:
        assert saved['pretrained_sha256'] == hashlib.sha256(
            f.read()).hexdigest()
    assert saved['templates'] == list(bank_cfg.templates)
    assert saved['embed_dim'] == 32 and saved['source'] == path
    # the same numbers as encoding directly with the checkpoint
    ref = encode_class_names(names, tiny_clip['name'], tiny_clip['ckpt'],
                             bank_cfg.templates)
    torch.testing.assert_close(saved['embeddings'], ref)
    torch.testing.assert_close(meta['embeddings'], ref)

    # the config's bank, switched to the file, loads it (names checked)
    bank = MODELS.build(dict(bank_cfg, init_source='file',
                             embeddings_file=out, cache_dir=None))
    bank.init_weights()
    torch.testing.assert_close(bank.embeddings.data, ref)
    # a bank with other names (or another order) rejects it
    wrong = MODELS.build(dict(bank_cfg, class_names=names[::-1],
                              init_source='file', embeddings_file=out,
                              cache_dir=None))
    with pytest.raises(ValueError, match='Class names'):
        wrong.init_weights()
    renamed = MODELS.build(dict(bank_cfg, class_names=names[:-1] + ['cat'],
                                init_source='file', embeddings_file=out,
                                cache_dir=None))
    with pytest.raises(ValueError, match=r"'orange diamond', 'cat'"):
        renamed.init_weights()


def test_dump_dataset_type_names_aliases_ensemble(tiny_clip, tmp_path):
    """The stock VOC config: class_names='VOCDataset' and prompt_aliases;
    --ensemble and --cfg-options override the config."""
    tool = _load_tool()
    out = str(tmp_path / 'voc.pt')
    common = [VOC_CFG, '--out', out, '--model', tiny_clip['name'],
              '--pretrained', tiny_clip['ckpt'], '--no-progress']
    with pytest.raises(ValueError, match='embed_dim=512'):
        tool.main(common)  # tiny CLIP is 32-d, the config's bank 512-d
    tool.main(common + ['--ensemble', '--cfg-options',
                        f'{BANK_KEY}.embed_dim=32'])
    saved = torch.load(out)
    from mmdet.datasets import VOCDataset
    assert saved['class_names'] == list(VOCDataset.METAINFO['classes'])
    assert saved['templates'] == list(ENSEMBLE_TEMPLATES)
    i = saved['class_names'].index('pottedplant')
    assert saved['prompt_names'][i] == 'potted plant'
    ref = encode_class_names(['potted plant'], tiny_clip['name'],
                             tiny_clip['ckpt'], ENSEMBLE_TEMPLATES)
    torch.testing.assert_close(saved['embeddings'][i:i + 1], ref)


def test_dump_txt_list_to_npy(tiny_clip, tmp_path):
    tool = _load_tool()
    txt = tmp_path / 'classes.txt'
    txt.write_text('# my classes\ncat\n\nhot dog\n')
    out = str(tmp_path / 'emb.npy')
    tool.main([str(txt), '--out', out, '--model', tiny_clip['name'],
               '--pretrained', tiny_clip['ckpt'], '--templates',
               'a {} in the scene.', '--alias', 'hot dog=hotdog sausage',
               '--no-progress'])
    arr = np.load(out)
    ref = encode_class_names(['cat', 'hotdog sausage'], tiny_clip['name'],
                             tiny_clip['ckpt'], ['a {} in the scene.'])
    np.testing.assert_allclose(arr, ref.numpy(), rtol=1e-5, atol=1e-6)
    with open(str(tmp_path / 'emb.json')) as f:
        side = json.load(f)
    assert side['class_names'] == ['cat', 'hot dog']
    assert side['prompt_names'] == ['cat', 'hotdog sausage']
    # clear errors
    with pytest.raises(FileNotFoundError, match='does not exist'):
        tool.main([str(txt), '--out', out, '--model', tiny_clip['name'],
                   '--pretrained', str(tmp_path / 'missing.bin')])
    with pytest.raises(ValueError, match='unknown classes'):
        tool.main([str(txt), '--out', out, '--alias', 'dog=puppy'])
    with pytest.raises(ValueError, match='Unknown open_clip model'):
        tool.main([str(txt), '--out', out, '--model', 'ViT-Q-99'])
    with pytest.raises(ValueError, match='use a .pt'):
        tool.main([str(txt), '--out', str(tmp_path / 'emb.txt')])


def test_dump_cli_from_dataset_info_json(tiny_clip, synthetic_coco,
                                         tmp_path):
    """The command line, in a fresh process (the tiny architecture is
    registered with --model-config)."""
    info = tmp_path / 'dataset_info.json'
    info.write_text(json.dumps(dict(classes=list(synthetic_coco['classes']),
                                    data_root='unused')))
    out = str(tmp_path / 'synthetic.pt')
    rc, log = run_cmd([
        sys.executable, 'tools/dump_text_embeddings.py', str(info), '--out',
        out, '--model', tiny_clip['name'], '--model-config',
        tiny_clip['arch'], '--pretrained', tiny_clip['ckpt']
    ], timeout=300)
    assert rc == 0, log[-3000:]
    n = len(synthetic_coco['classes'])
    assert f'Wrote ({n}, 32) embeddings' in log
    assert '12/12' in log  # the tqdm bar over the classes
    from mmdet_clipjoint.models.utils import load_embeddings_file
    data = load_embeddings_file(out, synthetic_coco['classes'], 32)
    ref = encode_class_names(list(synthetic_coco['classes']),
                             tiny_clip['name'], tiny_clip['ckpt'])
    torch.testing.assert_close(data['embeddings'], ref)


def test_offline_fails_fast_with_one_message(tmp_path, monkeypatch):
    """No weights host answers: the hub client runs in offline mode (its
    cache only, no retries) and the tool says what to do in one message --
    not "run dump_text_embeddings", which is what just failed."""
    from huggingface_hub import constants

    from mmdet_clipjoint.models.utils import clip_text
    monkeypatch.setattr(clip_text, 'weights_host_reachable', lambda: False)
    monkeypatch.setattr(constants, 'HF_HUB_CACHE', str(tmp_path / 'empty'))
    offline_before = constants.HF_HUB_OFFLINE
    seen = []
    real = clip_text._hub_offline

    def spy():
        seen.append(True)
        return real()

    monkeypatch.setattr(clip_text, '_hub_offline', spy)
    txt = tmp_path / 'classes.txt'
    txt.write_text('cat\ndog\n')
    with pytest.raises(FileNotFoundError) as err:
        _load_tool().main([str(txt), '--out', str(tmp_path / 'e.pt'),
                           '--model', 'ViT-B-32', '--pretrained', 'openai',
                           '--no-progress'])
    msg = str(err.value)
    assert msg.startswith('no network') and '--pretrained /path/to' in msg
    assert 'dump_text_embeddings' not in msg
    assert seen and constants.HF_HUB_OFFLINE == offline_before  # restored
    # the bank's own path names the offline options too
    with pytest.raises(clip_text.ClipWeightsUnavailable,
                       match='No network.*clip_pretrained'):
        clip_text.build_clip_model('ViT-B-32', 'openai')
