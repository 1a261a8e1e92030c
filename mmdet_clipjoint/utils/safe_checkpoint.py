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
"""
import pickle
from typing import Any, Callable, List, Tuple, Union

import numpy as np
import torch

__all__ = ['checkpoint_safe_globals', 'register_checkpoint_safe_globals']

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


def register_checkpoint_safe_globals() -> bool:
    """Allow-list :func:`checkpoint_safe_globals` for ``torch.load``.

    Returns:
        bool: False on a torch without ``add_safe_globals`` (< 2.4), where
        weights-only loading is not the default and nothing is needed.
    """
    add: Any = getattr(torch.serialization, 'add_safe_globals', None)
    if add is None:
        return False
    add(checkpoint_safe_globals())
    return True
