# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""One short ClipJoint training run shared by the reliability tests."""
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from mmengine.runner import Runner

from mmdet_clipjoint.models.utils import save_embeddings_file
from .common import (WIDTH, Recorder, bank_cfg, clone_state,
                     slim_clipjoint_cfg)

MAX_ITERS = 4


@pytest.fixture(autouse=True, scope='package')
def _one_thread():
    """Train on one intra-op thread.

    On the shared 2-core machines two OpenMP threads per process slow these
    small models down by up to 10x whenever other jobs run (measured: 4
    RTMDet-tiny iterations 44 s with 2 threads, 3.4 s with 1).
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True, scope='package')
def _no_yapf_in_runner():
    """Skip yapf's re-formatting of config text (``Config.pretty_text``).

    mmengine formats the whole config with yapf four times per Runner and
    once per checkpoint (about 2 s each on these CPUs); the unformatted text
    is the same valid Python, so only the layout of dumped configs changes.
    Subprocess runs in these tests keep the real formatting.
    """
    import mmengine.config.config as config_module
    mp = pytest.MonkeyPatch()
    mp.setattr(config_module, 'FormatCode',
               lambda text, **kwargs: (text, False))
    yield
    mp.undo()


def reference_cfg(tmp_path, data, emb_file):
    """4 iterations, checkpoints at 2 and 4, evaluation at the end."""
    cfg = slim_clipjoint_cfg(tmp_path, data, max_iters=MAX_ITERS,
                             checkpoint_interval=2)
    bank_cfg(cfg).update(init_source='file', embeddings_file=emb_file)
    cfg.default_hooks.checkpoint.type = 'AtomicCheckpointHook'
    return cfg


@pytest.fixture(scope='session')
def reference_run(synthetic_coco, tmp_path_factory):
    """An uninterrupted run: its checkpoints, final state and records."""
    root = tmp_path_factory.mktemp('reference_run')
    emb_file = str(root / 'text_emb.pt')
    g = torch.Generator().manual_seed(0)
    emb = F.normalize(torch.randn(len(synthetic_coco['classes']), WIDTH,
                                  generator=g), dim=-1)
    save_embeddings_file(emb_file, emb, synthetic_coco['classes'])
    cfg = reference_cfg(root, synthetic_coco, emb_file)
    runner = Runner.from_cfg(cfg)
    rec = Recorder()
    runner.register_hook(rec)
    runner.train()
    return dict(
        cfg=cfg, work_dir=cfg.work_dir, emb_file=emb_file, emb=emb,
        state=clone_state(runner),
        optimizer=runner.optim_wrapper.state_dict(),
        recorder=rec, root=root,
        ckpt={i: osp.join(cfg.work_dir, f'iter_{i}.pth')
              for i in (2, MAX_ITERS)})
