# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""The long-tail remedies in a real mmengine run: the training boxes per
class are counted when training starts and travel with the checkpoint, the
class-frequency temperatures are set from them only for a bank initialised
for the run, and frequency-weighted fusion scores with them."""
import json
import math
import os.path as osp

import torch
import torch.nn.functional as F
from mmengine.runner import Runner

import mmdet_clipjoint  # noqa: F401
from mmdet_clipjoint.models.utils import save_embeddings_file
from ..helpers import small_cfg

CONFIG = 'configs/clipjoint_rtmdet/clipjoint-rtmdet_tiny_8xb32-300e_coco.py'


def _counts(data):
    with open(osp.join(data['data_root'], data['train_ann_file'])) as f:
        ann = json.load(f)
    ids = sorted(c['id'] for c in ann['categories'])
    counts = [0] * len(ids)
    for a in ann['annotations']:
        if not a.get('iscrowd', 0):
            counts[ids.index(a['category_id'])] += 1
    return counts


def _cfg(tmp_path, data, name, max_iters, **extra):
    emb = str(tmp_path / 'text_emb.pt')
    torch.manual_seed(0)
    save_embeddings_file(
        emb, F.normalize(torch.randn(len(data['classes']), 512), dim=-1),
        data['classes'])
    cfg = small_cfg(tmp_path / name, CONFIG, data, img_size=128,
                    max_iters=max_iters)
    head = cfg.model.bbox_head
    head.text_bank.update(init_source='file', embeddings_file=emb,
                          cache_dir=None, temperature_power=0.5,
                          learn_temperature=False)
    head.branch.margin = 0.1
    head.update(score_mode='fuse', fuse_frequency_power=0.5)
    cfg.work_dir = str(tmp_path / 'work')
    cfg.update(extra)
    return cfg


def _bank(runner):
    return runner.model.bbox_head.text_bank


def test_counts_temperatures_and_fusion_in_a_run(synthetic_coco, tmp_path):
    counts = _counts(synthetic_coco)
    runner = Runner.from_cfg(_cfg(tmp_path, synthetic_coco, 'a', 2))
    runner.train()  # validates in fuse mode at the end: the weights work
    bank = _bank(runner)
    assert bank.class_counts.tolist() == counts
    # the frequency temperatures (fixed here: learn_temperature=False)
    n = torch.tensor(counts, dtype=torch.float64).clamp(min=1)
    gmean = math.exp(n.log().mean().item())
    tau = (0.07 * (n / gmean).pow(0.5)).clamp(0.01, 1.0).float()
    torch.testing.assert_close(bank.temperatures()[:len(counts)], tau)
    head = runner.model.bbox_head
    w = head.fuse_weights(len(counts))
    assert w.shape == (len(counts), ) and w.min() >= 0.5
    ckpt = osp.join(runner.work_dir, 'iter_2.pth')
    state = torch.load(ckpt, map_location='cpu')
    key = 'bbox_head.branch.text_bank.'
    assert state['state_dict'][key + 'class_counts'].tolist() == counts

    # resuming: the checkpoint's counts and temperatures stay as saved
    # (RTMDet keeps an EMA copy: the checkpoint holds both, swapped back on
    # resuming, so both are marked)
    marked = dict(state)
    for part, prefix in (('state_dict', ''), ('ema_state_dict', 'module.')):
        marked[part] = dict(state[part])
        marked[part][prefix + key + 'class_counts'] = torch.full(
            (len(counts), ), 7.0)
        marked[part][prefix + key + 'log_scale'] = torch.full_like(
            state['state_dict'][key + 'log_scale'], 2.5)
    torch.save(marked, ckpt)
    resumed = Runner.from_cfg(
        _cfg(tmp_path, synthetic_coco, 'b', 3, resume=True, load_from=ckpt))
    resumed.train()
    assert _bank(resumed).class_counts.tolist() == [7.0] * len(counts)
    assert torch.allclose(_bank(resumed).log_scale, torch.tensor(2.5))

    # fine-tuning from it (load_from): the counts are this run's, the
    # temperatures the checkpoint's (not re-initialised)
    loaded = Runner.from_cfg(
        _cfg(tmp_path, synthetic_coco, 'c', 1, load_from=ckpt,
             work_dir=str(tmp_path / 'work_c')))
    loaded.train()
    assert _bank(loaded).class_counts.tolist() == counts
    assert torch.allclose(_bank(loaded).log_scale, torch.tensor(2.5))
