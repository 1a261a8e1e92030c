# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Our checkpoints load with torch's weights-only unpickler (also through
mmengine / mmdet's loaders); a checkpoint carrying an arbitrary pickled
object is refused with a message that says what to do, and a truncated one
is reported as such -- weights-only loading is never turned off."""
import copy
import os
import os.path as osp

import pytest
import torch
from mmengine.runner import Runner, load_checkpoint

from mmdet_clipjoint.utils.safe_checkpoint import (CorruptCheckpointError,
                                                   UnsafeCheckpointError)
from .common import Recorder, bank_cfg


class _Payload:
    """Pickles as a call of os.system: runs a command when unpickled."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}', )


def _inference_cfg(ref, tmp_path):
    cfg = copy.deepcopy(ref['cfg'])
    # serving needs neither CLIP weights nor the embeddings file
    bank_cfg(cfg).embeddings_file = str(tmp_path / 'absent_emb.pt')
    return cfg


@pytest.fixture
def evil_checkpoint(reference_run, tmp_path):
    ckpt = torch.load(reference_run['ckpt'][4], weights_only=True)
    marker = str(tmp_path / 'payload_ran')
    ckpt['meta']['note'] = _Payload(marker)
    path = str(tmp_path / 'evil.pth')
    torch.save(ckpt, path)
    return path, marker


def test_our_checkpoint_loads_weights_only(reference_run, tmp_path):
    from mmdet.apis import inference_detector, init_detector
    path = reference_run['ckpt'][4]
    ckpt = torch.load(path, weights_only=True)  # torch's default too
    assert {'meta', 'state_dict', 'message_hub', 'optimizer',
            'param_schedulers', 'rng_state'} <= set(ckpt)
    model = init_detector(_inference_cfg(reference_run, tmp_path), path,
                          device='cpu')
    for k, v in reference_run['state'].items():
        torch.testing.assert_close(model.state_dict()[k], v, msg=k)
    img = osp.join(reference_run['cfg'].train_dataloader.dataset.data_root,
                   'val', '000000.jpg')
    pred = inference_detector(model, img).pred_instances
    assert pred.bboxes.shape[1] == 4


def test_pickled_object_refused_by_init_detector(reference_run, tmp_path,
                                                 evil_checkpoint):
    from mmdet.apis import init_detector
    path, marker = evil_checkpoint
    with pytest.raises(UnsafeCheckpointError) as info:
        init_detector(_inference_cfg(reference_run, tmp_path), path,
                      device='cpu')
    msg = str(info.value)
    assert 'evil.pth' in msg and 'system' in msg  # what was refused
    assert 'weights-only' in msg and 'stays on' in msg  # why
    assert 're-save it as plain tensors' in msg  # what to do
    assert 'add_safe_globals' in msg
    assert not osp.exists(marker), 'the pickled payload ran'


def test_pickled_object_refused_on_resume(reference_run, synthetic_coco,
                                          tmp_path, evil_checkpoint):
    from .conftest import reference_cfg
    path, marker = evil_checkpoint
    cfg = reference_cfg(tmp_path, synthetic_coco, reference_run['emb_file'])
    cfg.resume, cfg.load_from = True, path
    runner = Runner.from_cfg(cfg)
    rec = Recorder()
    runner.register_hook(rec)
    with pytest.raises(UnsafeCheckpointError, match='Refused to load'):
        runner.train()
    assert rec.batches == [] and not osp.exists(marker)


def _truncated(reference_run, tmp_path):
    with open(reference_run['ckpt'][2], 'rb') as f:
        blob = f.read()
    path = str(tmp_path / 'iter_2.pth')
    with open(path, 'wb') as f:
        f.write(blob[:len(blob) // 3])
    return path


def test_truncated_checkpoint_is_reported(reference_run, tmp_path):
    path = _truncated(reference_run, tmp_path)
    model = torch.nn.Linear(1, 1)
    with pytest.raises(CorruptCheckpointError,
                       match=r'truncated or corrupt.*earlier checkpoint'):
        load_checkpoint(model, path, map_location='cpu')


@pytest.mark.parametrize('road,advice', [
    ('resume', '`--resume <work_dir>/iter_N.pth`'),
    ('load_from', 'point `load_from` at another file'),
    ('evaluate', 'It is the checkpoint to evaluate'),
    ('inference', 'given to init_detector / DetInferencer'),
])
def test_truncated_checkpoint_advice_fits_the_road(reference_run,
                                                   synthetic_coco, tmp_path,
                                                   road, advice):
    """Each way of loading gets its own advice (only resuming is told to
    resume), and torch's own text is not cut mid-sentence."""
    from .conftest import reference_cfg
    path = _truncated(reference_run, tmp_path)
    with pytest.raises(CorruptCheckpointError) as info:
        if road == 'inference':
            from mmdet.apis import init_detector
            init_detector(_inference_cfg(reference_run, tmp_path), path,
                          device='cpu')
        else:
            cfg = reference_cfg(tmp_path, synthetic_coco,
                                reference_run['emb_file'])
            cfg.load_from, cfg.resume = path, road == 'resume'
            runner = Runner.from_cfg(cfg)
            runner.test() if road == 'evaluate' else runner.train()
    msg = str(info.value)
    assert advice in msg
    if road != 'resume':
        assert '--resume' not in msg
    said = msg.split('(torch said: ', 1)[1]
    assert said.endswith((')', '.)', '[...])'))


class _BytesCall:
    """Pickles as ``bytes(5)``: the one form of ``bytes`` a checkpoint
    must not use (only the empty ``bytes()`` is allowed)."""

    def __reduce__(self):
        return bytes, (5, )


def test_empty_numpy_arrays_in_meta_load(tmp_path):
    """An untouched HistoryBuffer or np.zeros(0) pickles its empty data as
    ``bytes()``; it loads, and ``bytes`` with arguments stays refused."""
    import numpy as np
    from mmengine.logging import HistoryBuffer

    from mmdet_clipjoint.utils.safe_checkpoint import load_from_local
    path = str(tmp_path / 'empty.pth')
    torch.save(dict(meta=dict(buf=HistoryBuffer(), empty=np.zeros(0),
                              ints=np.zeros((0, 3), dtype=np.int64)),
                    state_dict=dict(w=torch.ones(2))), path)
    ckpt = load_from_local(path)
    assert isinstance(ckpt['meta']['buf'], HistoryBuffer)
    assert ckpt['meta']['empty'].shape == (0, )
    assert ckpt['meta']['ints'].shape == (0, 3)
    assert ckpt['meta']['ints'].dtype == np.int64
    assert load_checkpoint_via_mmengine(path)['meta']['empty'].size == 0
    bad = str(tmp_path / 'bytes_call.pth')
    torch.save(dict(meta=dict(x=_BytesCall())), bad)
    with pytest.raises(UnsafeCheckpointError, match='bytes'):
        load_from_local(bad)


def load_checkpoint_via_mmengine(path):
    from mmengine.runner.checkpoint import _load_checkpoint
    return _load_checkpoint(path, map_location='cpu')
