# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Training a ClipJoint config through ``mim train`` offline, and checking
what it serves, for the end-to-end tests."""
import os
import os.path as osp
import subprocess
import sys
from typing import Callable, Optional, Tuple

import torch
import torch.nn.functional as F
from mmengine.config import Config

from mmdet_clipjoint.models.utils import save_embeddings_file
from ..helpers import small_cfg

__all__ = ['ROOT', 'train_offline', 'assert_bank_from_checkpoint',
           'assert_valid_predictions']

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def train_offline(tmp_path,
                  config: str,
                  data: dict,
                  edit: Optional[Callable[[Config], None]] = None,
                  **shrink) -> Tuple[str, str, str]:
    """``mim train`` a ClipJoint config, shrunk for CPU, without CLIP.

    The text bank is initialised from a file of random class embeddings
    (shape (C, 512)) instead of the CLIP hub; the file is removed after
    training, so that what follows proves serving does not need it.

    Args:
        tmp_path (Path): A fresh folder.
        config (str): ``configs/...`` path relative to the repository.
        data (dict): The ``synthetic_coco`` fixture.
        edit (callable, optional): Changes the shrunk config before it is
            dumped.
        **shrink: Passed to :func:`small_cfg` (``max_iters=2``, ...); the
            checkpoint of the last iteration is returned.

    Returns:
        tuple[str]: the dumped config, its last checkpoint and the log; the
        run succeeded, logged the branch's losses and read the file.
    """
    emb_file = str(tmp_path / 'text_emb.pt')
    torch.manual_seed(0)
    save_embeddings_file(
        emb_file, F.normalize(torch.randn(len(data['classes']), 512), dim=-1),
        data['classes'])
    cfg = small_cfg(tmp_path, osp.join(ROOT, config), data, **shrink)
    head = cfg.model.roi_head.bbox_head if 'roi_head' in cfg.model \
        else cfg.model.bbox_head
    assert head.type.startswith('ClipJoint'), head.type
    head.text_bank.update(
        init_source='file', embeddings_file=emb_file, cache_dir=None)
    if edit is not None:
        edit(cfg)
    path = str(tmp_path / osp.basename(config))
    cfg.dump(path)
    work_dir = str(tmp_path / 'mim_work')
    mim = osp.join(osp.dirname(sys.executable), 'mim')
    proc = subprocess.run(
        [mim, 'train', 'mmdet', path, '--work-dir', work_dir],
        capture_output=True, text=True, timeout=900)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    assert 'loss_contrast' in log and 'loss_clip_ce' in log
    assert 'initialised from' in log  # the text bank read the file
    os.remove(emb_file)
    ckpt = osp.join(work_dir, f"iter_{shrink['max_iters']}.pth")
    return path, ckpt, log


def assert_bank_from_checkpoint(model: torch.nn.Module, ckpt: str,
                                key: str) -> None:
    """The served model's text embeddings (C, D) are the checkpoint's."""
    saved = torch.load(ckpt)['state_dict']
    torch.testing.assert_close(model.state_dict()[key], saved[key])


def assert_valid_predictions(pred) -> None:
    """``bboxes`` (n, 4), ``scores`` (n,) in [0, 1], ``labels`` (n,)."""
    assert pred.bboxes.shape[1] == 4
    assert len(pred.scores) == len(pred.labels) == len(pred.bboxes)
    assert ((pred.scores >= 0) & (pred.scores <= 1)).all()
