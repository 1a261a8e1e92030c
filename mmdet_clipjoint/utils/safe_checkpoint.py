# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Let mmengine load its own runner checkpoints under torch >= 2.6.

Since torch 2.6, ``torch.load`` defaults to ``weights_only=True``: only
tensors, containers and allow-listed classes may be unpickled.  mmengine 0.10
calls ``torch.load(filename, map_location=...)`` without ``weights_only``, and
its runner checkpoints carry a few non-tensor objects in ``meta`` and
``message_hub`` (``HistoryBuffer`` logs holding numpy arrays, numpy scalars and
dtypes), so ``resume`` and ``load_from`` fail with ``UnpicklingError``.

``HistoryBuffer`` also pickles its statistics methods as
``getattr(HistoryBuffer, 'mean')``; instead of allowing the builtin
``getattr`` (which would reach any attribute of any allowed class), a
restricted stand-in that only resolves those methods is registered under the
name ``builtins.getattr``.

Rather than turning weights-only loading off (which lets any checkpoint run
arbitrary code), :func:`register_checkpoint_safe_globals` adds exactly those
classes to torch's allow-list.  It runs on ``import mmdet_clipjoint``.

It also replaces mmengine's loader of local checkpoint files (used by
``load_checkpoint``, ``Runner.resume`` / ``load_from`` and mmdet's
``init_detector``) by :func:`load_from_local`, which loads the same way
but turns torch's errors for a refused object or a truncated / corrupt file
into messages that say what happened and what to do (the name
``load_from_local`` is mmengine's: its log line reads "local backend").
"""
import os.path as osp
import pickle
import re
from typing import Any, Callable, List, Optional, Tuple, Union

import numpy as np
import torch

__all__ = [
    'checkpoint_safe_globals', 'register_checkpoint_safe_globals',
    'load_from_local', 'UnsafeCheckpointError', 'CorruptCheckpointError'
]

_SafeGlobal = Union[Callable, Tuple[Callable, str]]


def _history_buffer_getattr(obj: Any, name: str) -> Any:
    """``getattr`` restricted to ``HistoryBuffer``'s statistics methods."""
    from mmengine.logging import HistoryBuffer
    # the built-in four are registered lazily, on the first instance
    if isinstance(obj, type) and issubclass(obj, HistoryBuffer) and (
            name in ('min', 'max', 'current', 'mean')
            or name in obj._statistics_methods):
        return getattr(obj, name)
    raise pickle.UnpicklingError(
        f'checkpoint asks for getattr({obj!r}, {name!r}); only '
        'HistoryBuffer statistics methods are allowed. The file carries '
        'objects that mmengine/mmdet checkpoints do not; load it only if '
        'you trust its source (torch.load(..., weights_only=False)).')


def _empty_bytes(*args: Any) -> bytes:
    """``bytes()`` restricted to the empty call.

    Pickle protocol 2 (``torch.save``'s) writes a non-empty ``bytes`` as
    ``_codecs.encode(...)`` (allowed by torch) but an empty one as
    ``bytes()``: the data of an empty numpy array (an untouched
    ``HistoryBuffer``, ``np.zeros(0)``). Only that call is allowed.
    """
    if args:
        raise pickle.UnpicklingError(
            f'checkpoint asks for bytes{args!r}; only bytes() (the empty '
            'data of an empty numpy array) is allowed.')
    return b''


def checkpoint_safe_globals() -> List[_SafeGlobal]:
    """The non-tensor globals found in mmengine/mmdet runner checkpoints.

    Each numpy object is also registered under its numpy 1.x module path
    (``numpy.core...``) so checkpoints written with an older numpy load too.
    """
    from mmengine.logging import HistoryBuffer

    multiarray = np._core.multiarray if hasattr(np, '_core') \
        else np.core.multiarray
    out: List[_SafeGlobal] = [
        HistoryBuffer, np.ndarray, np.dtype,
        (_history_buffer_getattr, 'builtins.getattr'),
        (_history_buffer_getattr, '__builtin__.getattr'),
        (_empty_bytes, 'builtins.bytes'),
        (_empty_bytes, '__builtin__.bytes'),
    ]
    for fn in (multiarray._reconstruct, multiarray.scalar):
        out.append(fn)
        for mod in ('numpy.core.multiarray', 'numpy._core.multiarray'):
            out.append((fn, f'{mod}.{fn.__name__}'))
    # numpy >= 1.25 pickles dtypes through their per-type classes,
    # e.g. numpy.dtypes.Float64DType.
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        for name in dir(dtypes):
            obj = getattr(dtypes, name)
            if isinstance(obj, type) and name.endswith('DType'):
                out.append(obj)
    return out


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint holds objects that weights-only loading refuses."""


class CorruptCheckpointError(RuntimeError):
    """A checkpoint file is truncated or otherwise unreadable."""


_CORRUPT_HINTS = ('PytorchStreamReader', 'zip archive', 'central directory',
                  'Ran out of input', 'invalid load key', 'truncated')


def _refused_global(message: str) -> Optional[str]:
    m = re.search(r'GLOBAL ([\w.]+)', message) or re.search(
        r'Unsupported global:? ([\w.]+)', message)
    return m.group(1) if m else None


def load_from_local(filename: str,
                    map_location: Union[str, Callable, None] = None) -> Any:
    """``torch.load`` a local checkpoint (weights-only) with clear errors.

    Args:
        filename: Path of the file (``~`` is expanded).
        map_location: As for :func:`torch.load`.

    Returns:
        The loaded checkpoint.

    Raises:
        FileNotFoundError: The file does not exist.
        UnsafeCheckpointError: The file holds objects outside the allow-list
            (weights-only loading stays on; the message names the object and
            the safe ways forward).
        CorruptCheckpointError: The file is truncated or corrupt, e.g. a
            save that was interrupted.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    try:
        return torch.load(filename, map_location=map_location)
    except pickle.UnpicklingError as e:
        msg = str(e)
        if 'Weights only load failed' not in msg and \
                'weights_only' not in msg:
            raise CorruptCheckpointError(
                _corrupt_message(filename, e)) from e
        name = _refused_global(msg) or 'an object that is not allow-listed'
        raise UnsafeCheckpointError(
            f'Refused to load checkpoint {filename!r}: it contains {name}, '
            'a Python object that mmengine / mmdet / mmdet_clipjoint '
            'checkpoints never hold. Checkpoints are loaded with torch\'s '
            'weights-only unpickler (tensors, containers and an allow-list '
            'only) so that opening a file cannot run code, and that stays '
            'on. If the file comes from a source you trust, re-save it as '
            'plain tensors: `ckpt = torch.load(path, weights_only=False); '
            'torch.save({"state_dict": ckpt["state_dict"]}, "clean.pth")` '
            'and load clean.pth, or allow-list exactly that class with '
            '`torch.serialization.add_safe_globals([...])`. torch said: '
            f'{_weights_only_detail(msg)}') from e
    except (RuntimeError, EOFError, KeyError, ValueError) as e:
        if isinstance(e, RuntimeError) and not any(
                h in str(e) for h in _CORRUPT_HINTS):
            raise
        raise CorruptCheckpointError(_corrupt_message(filename, e)) from e


def _weights_only_detail(msg: str) -> str:
    for line in msg.splitlines():
        if any(k in line for k in ('WeightsUnpickler', 'GLOBAL',
                                   'Unsupported global')):
            return line.strip()
    return msg.strip().splitlines()[0] if msg.strip() else ''


def _loading_path() -> str:
    """Which road led to this load: ``resume``, ``load_from`` (a run's
    start weights), ``evaluate`` (test / val of a checkpoint),
    ``inference`` (``init_detector`` / ``DetInferencer``) or ``other``
    (a direct ``load_checkpoint``), from the calling frames."""
    import inspect
    names = set()
    frame = inspect.currentframe()
    while frame is not None:
        names.add(frame.f_code.co_name)
        frame = frame.f_back
    if 'resume' in names:
        return 'resume'
    if 'init_detector' in names or '_load_weights_to_model' in names:
        return 'inference'  # init_detector / DetInferencer
    if 'load_or_resume' in names:
        return 'load_from' if 'train' in names else 'evaluate'
    return 'other'


_WHAT_TO_DO = dict(
    resume=('Resume from an earlier checkpoint (`--resume '
            '<work_dir>/iter_N.pth`), or let AtomicCheckpointHook\'s auto '
            'resume pick the newest complete one.'),
    load_from=('It is the `load_from` checkpoint (the weights this run '
               'starts from): re-download or re-copy it, or point '
               '`load_from` at another file.'),
    evaluate=('It is the checkpoint to evaluate: re-copy it, or evaluate '
              'another one (e.g. an earlier iter_N.pth of the same run).'),
    inference=('It is the checkpoint given to init_detector / '
               'DetInferencer: re-download or re-copy it, or give another '
               'one.'),
    other=('Re-copy or re-download the file, or use an earlier checkpoint '
           'of the same run.'))


def _first_sentences(text: str, limit: int = 300) -> str:
    """``text`` whole when short, else cut after a full sentence."""
    text = ' '.join(text.split())
    if len(text) <= limit:
        return text
    cut = text.rfind('. ', 0, limit)
    return text[:cut + 1] if cut > 0 else text[:limit] + ' [...]'


def _corrupt_message(filename: str, e: BaseException) -> str:
    return (f'Checkpoint {filename!r} is truncated or corrupt and cannot be '
            'read. This happens when a save is interrupted (killed process, '
            'full disk) or a copy is incomplete. '
            f'{_WHAT_TO_DO[_loading_path()]} (torch said: '
            f'{type(e).__name__}: {_first_sentences(str(e))})')


def register_checkpoint_safe_globals() -> bool:
    """Allow-list :func:`checkpoint_safe_globals` for ``torch.load`` and
    make mmengine load local checkpoints through
    :func:`load_from_local`.

    Returns:
        bool: False on a torch without ``add_safe_globals`` (< 2.4), where
        weights-only loading is not the default and nothing is needed.
    """
    from mmengine.runner import CheckpointLoader
    # prefix '' is mmengine's local-file scheme (its own load_from_local)
    CheckpointLoader.register_scheme(
        prefixes='', loader=load_from_local, force=True)
    add: Any = getattr(torch.serialization, 'add_safe_globals', None)
    if add is None:
        return False
    add(checkpoint_safe_globals())
    return True
