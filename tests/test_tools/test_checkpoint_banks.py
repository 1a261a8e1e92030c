# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""TextBankInitHook and checkpoints: a text bank is taken from ``load_from``
only when it fits (same shape and classes); otherwise the configured
initialisation stays and the run says so. Evaluating a checkpoint without
the branch in ``clip`` / ``fuse`` mode is refused."""
import pytest
import torch
import torch.nn.functional as F
from mmengine.logging import MMLogger
from mmengine.runner import Runner

from ..helpers import small_cfg
from .conftest import FRCNN_CFG


def _emb_file(path, classes, seed):
    from mmdet_clipjoint.models.utils import save_embeddings_file
    g = torch.Generator().manual_seed(seed)
    emb = F.normalize(torch.randn(len(classes), 512, generator=g), dim=-1)
    save_embeddings_file(str(path), emb, list(classes), model='random',
                         pretrained='none')
    return emb


def _finetune(tmp_path, run, classes, emb_file):
    """One iteration on ``classes`` with ``load_from`` = the 12-class
    ClipJoint checkpoint and the bank initialised from ``emb_file``."""
    data = dict(run['data'], classes=tuple(classes))
    cfg = small_cfg(tmp_path / 'cfg', FRCNN_CFG, data, max_iters=1,
                    img_size=128, dataset_type='CocoDataset')
    cfg.model.roi_head.bbox_head.text_bank.update(
        init_source='file', embeddings_file=str(emb_file), cache_dir=None)
    cfg.load_from = run['checkpoint']
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.train_cfg.pop('val_interval', None)
    runner = Runner.from_cfg(cfg)
    runner.train()
    log = open(MMLogger.get_current_instance().log_file).read()
    bank = runner.model.roi_head.bbox_head.text_bank
    return F.normalize(bank.embeddings.detach(), dim=-1), log


def _cos(a, b):
    return (F.normalize(a, dim=-1) * F.normalize(b, dim=-1)).sum(-1)


def test_finetune_on_other_classes_keeps_the_configured_init(
        trained_clipjoint, tmp_path):
    classes = trained_clipjoint['data']['classes'][:4]
    emb = _emb_file(tmp_path / 'four.pt', classes, seed=1)
    learned, log = _finetune(tmp_path, trained_clipjoint, classes,
                             tmp_path / 'four.pt')
    # the 4-class bank starts from the file (12-class bank: not usable)
    assert _cos(learned, emb).min() > 0.99
    assert 'text bank roi_head.bbox_head.branch.text_bank in' in log
    assert 'is not used: its bank has 12 classes x 512 dims' in log
    assert 'initialised from the embeddings file' in log


def test_finetune_same_classes_takes_the_checkpoint_bank(
        trained_clipjoint, tmp_path):
    classes = trained_clipjoint['data']['classes']
    other = _emb_file(tmp_path / 'other.pt', classes, seed=2)
    learned, log = _finetune(tmp_path, trained_clipjoint, classes,
                             tmp_path / 'other.pt')
    state = torch.load(trained_clipjoint['checkpoint'])['state_dict']
    ckpt_bank = state['roi_head.bbox_head.branch.text_bank.embeddings']
    assert _cos(learned, ckpt_bank).min() > 0.99
    assert _cos(learned, other).max() < 0.5
    assert 'will come from' in log and 'same classes' in log


def test_same_shape_other_classes_is_not_taken(trained_clipjoint, tmp_path):
    """Same count, another order: the checkpoint's embeddings would
    describe the wrong classes (mmengine would load them without a word)."""
    classes = list(trained_clipjoint['data']['classes'])
    swapped = [classes[1], classes[0]] + classes[2:]
    emb = _emb_file(tmp_path / 'swapped.pt', swapped, seed=3)
    learned, log = _finetune(tmp_path, trained_clipjoint, swapped,
                             tmp_path / 'swapped.pt')
    assert _cos(learned, emb).min() > 0.99
    assert 'trained on other class names' in log


@pytest.mark.parametrize('mode', ['clip', 'fuse'])
def test_branchless_checkpoint_is_refused_in_branch_modes(
        trained_clipjoint, tmp_path, mode):
    state = torch.load(trained_clipjoint['checkpoint'])
    head = 'roi_head.bbox_head.'
    state['state_dict'] = {
        k: v for k, v in state['state_dict'].items()
        if not k.startswith(head + 'branch.')}
    stock = str(tmp_path / 'stock_like.pth')
    torch.save(state, stock)
    cfg = small_cfg(tmp_path / 'cfg', FRCNN_CFG, trained_clipjoint['data'],
                    img_size=128, dataset_type='CocoDataset')
    cfg.model.roi_head.bbox_head.update(score_mode=mode)
    cfg.model.roi_head.bbox_head.text_bank.update(init_source='random')
    cfg.load_from = stock
    with pytest.raises(ValueError, match=f"score_mode='{mode}'.*"
                       'does not hold that branch: missing'):
        Runner.from_cfg(cfg).test()
    # the detector's own scores need no branch: evaluated as usual
    cfg.model.roi_head.bbox_head.update(score_mode='det')
    cfg.work_dir = str(tmp_path / 'det')
    assert 'coco/bbox_mAP' in Runner.from_cfg(cfg).test()
