# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Nothing is lost on a crash: a process killed while writing a checkpoint
leaves the previous one usable, and auto-resume never picks an incomplete
file (AtomicCheckpointHook)."""
import os
import os.path as osp
import signal
import subprocess
import sys
import textwrap

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner, find_latest_checkpoint

from mmdet_clipjoint.engine import AtomicCheckpointHook
from mmdet_clipjoint.utils.checkpoint_files import (
    checkpoint_problem, find_latest_complete_checkpoint)
from .common import (ROOT, Recorder, clone_state, drop_validation,
                     slim_clipjoint_cfg)
from .conftest import MAX_ITERS, reference_cfg


def _copy_run(ref, dst, corrupt=()):
    """A work dir with the reference checkpoints; ``corrupt`` ones are cut
    to half their size (a save killed half-way by a non-atomic writer)."""
    os.makedirs(dst)
    for step, src in ref['ckpt'].items():
        path = osp.join(dst, f'iter_{step}.pth')
        with open(src, 'rb') as f:
            blob = f.read()
        with open(path, 'wb') as f:
            f.write(blob[:len(blob) // 2] if step in corrupt else blob)
    with open(osp.join(dst, 'last_checkpoint'), 'w') as f:
        f.write(osp.join(dst, f'iter_{max(ref["ckpt"])}.pth'))
    return dst


class _FakeRunner:
    """What the hook reads of a runner: its work dir and config (auto-resume:
    ``resume=True`` without ``load_from``)."""

    def __init__(self, work_dir):
        self.work_dir = work_dir
        self.cfg = Config(dict(resume=True, load_from=None))


@pytest.mark.parametrize('damage', ['truncated', 'garbage', 'deleted',
                                    'empty_pointer'])
def test_auto_resume_target_skips_incomplete_files(reference_run, tmp_path,
                                                   damage):
    wd = _copy_run(reference_run, str(tmp_path / 'wd'),
                   corrupt=(4, ) if damage == 'truncated' else ())
    newest = osp.join(wd, 'iter_4.pth')
    if damage == 'garbage':
        with open(newest, 'wb') as f:
            f.write(b'\0' * 1000)
    elif damage == 'deleted':
        os.remove(newest)
    elif damage == 'empty_pointer':  # killed while writing the pointer
        open(osp.join(wd, 'last_checkpoint'), 'w').close()
    runner = _FakeRunner(wd)
    AtomicCheckpointHook(interval=2, by_epoch=False).before_run(runner)
    # mmengine's auto-resume target is the newest complete checkpoint
    expected = 4 if damage == 'empty_pointer' else 2
    assert find_latest_checkpoint(wd) == osp.join(wd, f'iter_{expected}.pth')
    if expected == 2:
        assert checkpoint_problem(newest) is not None


def test_intact_pointer_is_left_alone(reference_run, tmp_path):
    wd = _copy_run(reference_run, str(tmp_path / 'wd'))
    runner = _FakeRunner(wd)
    AtomicCheckpointHook(interval=2, by_epoch=False).before_run(runner)
    with open(osp.join(wd, 'last_checkpoint')) as f:
        assert f.read() == osp.join(wd, 'iter_4.pth')  # untouched
    assert find_latest_complete_checkpoint(wd)[0] == osp.join(wd,
                                                              'iter_4.pth')


def test_resume_after_truncated_newest_continues_exactly(
        reference_run, synthetic_coco, tmp_path):
    """Through a real Runner: the truncated iter_4 is skipped, training goes
    on from iter_2 and ends bitwise where the uninterrupted run ended."""
    cfg = drop_validation(
        reference_cfg(tmp_path, synthetic_coco, reference_run['emb_file']))
    cfg.work_dir = _copy_run(reference_run, str(tmp_path / 'wd'),
                             corrupt=(4, ))
    cfg.resume = True
    runner = Runner.from_cfg(cfg)
    rec = Recorder()
    runner.register_hook(rec)
    runner.train()
    assert rec.start_iter == 2 and runner.iter == MAX_ITERS
    state = clone_state(runner)
    for k, v in reference_run['state'].items():
        torch.testing.assert_close(state[k], v, atol=1e-6, rtol=0, msg=k)
    # the new iter_4 replaced the truncated one and is complete
    assert checkpoint_problem(osp.join(cfg.work_dir, 'iter_4.pth')) is None


def test_no_complete_checkpoint_is_a_clear_error(reference_run,
                                                 synthetic_coco, tmp_path):
    cfg = reference_cfg(tmp_path, synthetic_coco, reference_run['emb_file'])
    cfg.work_dir = _copy_run(reference_run, str(tmp_path / 'wd'),
                             corrupt=(2, 4))
    cfg.resume = True
    runner = Runner.from_cfg(cfg)
    rec = Recorder()
    runner.register_hook(rec)
    with pytest.raises(RuntimeError,
                       match=r'(?s)Cannot resume.*iter_4.*delete.*scratch'):
        runner.train()
    assert rec.batches == []  # raised before the first iteration


KILL_MID_SAVE = textwrap.dedent('''
    """Train; the process kills itself half-way through writing iter_2."""
    import os, signal, sys
    import torch
    torch.set_num_threads(1)
    from mmengine.config import Config
    from mmengine.fileio.backends import LocalBackend
    from mmengine.runner import Runner
    import mmengine.config.config as config_module
    import mmdet_clipjoint  # noqa: F401

    # as in conftest.py: skip yapf's re-formatting of config text
    config_module.FormatCode = lambda text, **kwargs: (text, False)
    put = LocalBackend.put

    def put_then_die(self, obj, filepath):
        if os.path.basename(str(filepath)).startswith('iter_2.pth'):
            with open(filepath, 'wb') as f:
                f.write(obj[:len(obj) // 2])
                f.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        return put(self, obj, filepath)

    LocalBackend.put = put_then_die
    Runner.from_cfg(Config.fromfile(sys.argv[1])).train()
''')


def test_killed_while_saving_then_resume(synthetic_coco, tmp_path):
    """SIGKILL during the save of iter_2 with max_keep_ckpts=1 (mmengine's
    own hook deletes iter_1 before writing iter_2 and would leave nothing to
    resume from); resume=True continues from iter_1."""
    cfg = drop_validation(
        slim_clipjoint_cfg(tmp_path, synthetic_coco, max_iters=2,
                           checkpoint_interval=1))
    cfg.default_hooks.checkpoint.update(type='AtomicCheckpointHook',
                                        max_keep_ckpts=1)
    cfg_path = str(tmp_path / 'cfg.py')
    cfg.dump(cfg_path)
    script = tmp_path / 'kill_mid_save.py'
    script.write_text(KILL_MID_SAVE)
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep +
               os.environ.get('PYTHONPATH', ''))
    proc = subprocess.run([sys.executable, str(script), cfg_path],
                          capture_output=True, text=True, timeout=600,
                          env=env)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-3000:]
    wd = cfg.work_dir
    assert osp.isfile(osp.join(wd, 'iter_2.pth.tmp'))  # the partial write
    assert not osp.exists(osp.join(wd, 'iter_2.pth'))
    with open(osp.join(wd, 'last_checkpoint')) as f:
        assert f.read().strip() == osp.join(wd, 'iter_1.pth')
    assert checkpoint_problem(osp.join(wd, 'iter_1.pth')) is None

    cfg.resume = True
    runner = Runner.from_cfg(cfg)
    rec = Recorder()
    runner.register_hook(rec)
    runner.train()
    assert rec.start_iter == 1 and runner.iter == 2
    assert sorted(p for p in os.listdir(wd) if '.pth' in p) == ['iter_2.pth']
    assert checkpoint_problem(osp.join(wd, 'iter_2.pth')) is None
