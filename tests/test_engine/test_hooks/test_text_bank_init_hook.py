# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""TextBankInitHook's public parts: the checkpoint it reads from
``runner.cfg``, the loops it asks :func:`run_loops` for, the text bank's
``expect_checkpoint`` and the deprecated ``ClipJointHook`` name. The runs
through a real ``Runner`` are in tests/test_tools/test_checkpoint_banks.py
and test_train_test_tools.py."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import BaseLoop, Runner
from torch.utils.data import DataLoader

from mmdet.registry import HOOKS, MODELS
import mmdet_clipjoint  # noqa: F401
from mmdet_clipjoint.engine import (ClipJointHook, TextBankInitHook,
                                    run_loops)
from mmdet_clipjoint.engine.hooks import text_bank_init_hook


class _Runner:
    """What the hook reads of a runner: its config and work dir."""

    def __init__(self, work_dir, **cfg):
        self.work_dir, self.cfg = work_dir, Config(cfg)


class _Loop(BaseLoop):

    def run(self):
        pass


def test_checkpoint_to_load_follows_the_config(tmp_path):
    wd = str(tmp_path)
    load = TextBankInitHook.checkpoint_to_load
    assert load(_Runner(wd)) == (None, False)
    assert load(_Runner(wd, load_from='a.pth')) == ('a.pth', False)
    assert load(_Runner(wd, load_from='a.pth', resume=True)) == ('a.pth',
                                                                 True)
    # auto-resume: the work dir's latest checkpoint (none yet here)
    assert load(_Runner(wd, resume=True)) == (None, True)
    with open(osp.join(wd, 'last_checkpoint'), 'w') as f:
        f.write(osp.join(wd, 'iter_2.pth'))
    assert load(_Runner(wd, resume=True)) == (osp.join(wd, 'iter_2.pth'),
                                              True)


def test_run_loops_are_the_loops_built():
    runner = _Runner('.')
    assert run_loops(runner) == {}
    val = _Loop(runner, DataLoader([0]))
    # Runner.val / test / train build their loops this way before before_run
    assert Runner.build_val_loop(runner, val) is val
    assert run_loops(runner) == {'val': val}
    train = _Loop(runner, DataLoader([0]))
    Runner.build_train_loop(runner, train)
    assert run_loops(runner) == {'val': val, 'train': train}


def test_expect_checkpoint_skips_the_text_init(tmp_path):
    bank = MODELS.build(
        dict(type='ContrastiveTextBank', class_names=('a', 'b'), embed_dim=8,
             init_source='file', embeddings_file=str(tmp_path / 'no.pt'),
             cache_dir=None))
    with pytest.raises(FileNotFoundError):
        bank.init_weights()  # the file would be read
    before = bank.embeddings.detach().clone()
    bank.expect_checkpoint(str(tmp_path / 'iter_2.pth'))
    bank.init_weights()  # the checkpoint will give the weights: no read
    assert torch.equal(bank.embeddings, before)
    assert bank.init_description == 'the loaded checkpoint'


def test_deprecated_name_still_works(monkeypatch):
    logged = []
    monkeypatch.setattr(text_bank_init_hook, 'print_log',
                        lambda msg, **kw: logged.append(msg))
    hook = HOOKS.build(dict(type='ClipJointHook', check_data=False))
    assert isinstance(hook, TextBankInitHook) and type(hook) is ClipJointHook
    assert not hook.check_data and hook.check_classes
    assert len(logged) == 1 and 'TextBankInitHook' in logged[0]
    assert 'deprecated' in logged[0]
    logged.clear()
    hook = HOOKS.build(dict(type='TextBankInitHook'))
    assert type(hook) is TextBankInitHook and not logged


def test_checkpoint_of_the_flat_layout_is_read_and_dropped():
    """A checkpoint saved before the branch module (``...bbox_head.
    text_bank.*``) is checked like a current one (``...bbox_head.branch.
    text_bank.*``), and an unusable bank is left out under its old keys."""
    bank = MODELS.build(
        dict(type='ContrastiveTextBank', class_names=('a', 'b'),
             init_source='random', embed_dim=8))
    name = 'roi_head.bbox_head.branch.text_bank'
    old = {f'roi_head.bbox_head.text_bank.{k}': v.detach().clone()
           for k, v in bank.state_dict().items()}
    source = dict(state=old, classes=['a', 'b'])
    assert TextBankInitHook.bank_mismatch(name, bank, source) is None
    assert 'no text bank' in TextBankInitHook.bank_mismatch(
        name, bank, dict(state={}, classes=None))
    assert 'other class names' in TextBankInitHook.bank_mismatch(
        name, bank, dict(state=old, classes=['b', 'a']))
    hook = TextBankInitHook()
    hook._dropped, hook._resuming = {name: 'other classes'}, False
    ckpt = dict(state_dict=dict(old, **{'backbone.w': torch.zeros(1)}))
    hook.after_load_checkpoint(None, ckpt)
    assert list(ckpt['state_dict']) == ['backbone.w']


def test_frequency_options_without_countable_data_are_a_clear_error():
    """temperature_power / fuse_frequency_power need the training counts;
    a training set that cannot be counted says so instead of silently
    training without them."""
    from types import SimpleNamespace
    bank = MODELS.build(
        dict(type='ContrastiveTextBank', class_names=('a', 'b'), embed_dim=8,
             init_source='random', cache_dir=None, temperature_power=0.1))
    runner = SimpleNamespace(
        model=torch.nn.ModuleDict(dict(bank=bank)),
        train_dataloader=SimpleNamespace(dataset=object()))
    hook = TextBankInitHook()
    with pytest.raises(ValueError, match='need the counts'):
        hook.before_train(runner)
    # without the options: no error, the counts stay unknown
    bank.temperature_power = 0.0
    hook.before_train(runner)
    assert not bank.class_counts_known
    # resuming: nothing is counted (the checkpoint holds the counts)
    bank.temperature_power = 0.1
    hook._resuming = True
    hook.before_train(runner)
