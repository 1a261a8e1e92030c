# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Atomic checkpoint files and finding the newest complete one.

mmengine writes a checkpoint straight to its final name and then points
``<work_dir>/last_checkpoint`` at it; a process killed while writing leaves a
truncated file under a name that looks valid, and with ``max_keep_ckpts`` the
previous checkpoint is deleted *before* the new one is written.  These
helpers back :class:`~mmdet_clipjoint.engine.AtomicCheckpointHook`.
"""
import glob
import os
import os.path as osp
import re
from typing import List, Optional, Tuple

import torch

__all__ = [
    'TMP_SUFFIX', 'atomic_replace', 'atomic_write_text', 'checkpoint_problem',
    'list_step_checkpoints', 'find_latest_complete_checkpoint',
    'remove_checkpoints', 'atomic_write_json'
]

#: suffix of a checkpoint being written; renamed when complete
TMP_SUFFIX = '.tmp'


def _fsync_path(path: str, directory: bool = False) -> None:
    flags = os.O_RDONLY | (getattr(os, 'O_DIRECTORY', 0) if directory else 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return  # e.g. directories cannot be opened on Windows
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_replace(tmp_path: str, final_path: str, fsync: bool = True) -> None:
    """Move a completely written ``tmp_path`` onto ``final_path``.

    ``os.replace`` is atomic on POSIX and Windows: readers see either the old
    file or the new complete one, never a partial file.

    Args:
        tmp_path: The finished temporary file (same directory).
        final_path: Its final name.
        fsync: Flush the file and the directory to disk, so that a power
            loss cannot leave a renamed but empty file.
    """
    if fsync:
        _fsync_path(tmp_path)
    os.replace(tmp_path, final_path)
    if fsync:
        _fsync_path(osp.dirname(osp.abspath(final_path)), directory=True)


def atomic_write_text(path: str, text: str, fsync: bool = True) -> None:
    """Write a small text file (e.g. ``last_checkpoint``) atomically."""
    tmp = path + TMP_SUFFIX
    with open(tmp, 'w') as f:
        f.write(text)
        f.flush()
        if fsync:
            os.fsync(f.fileno())
    atomic_replace(tmp, path, fsync=fsync)


def checkpoint_problem(path: Optional[str]) -> Optional[str]:
    """Why ``path`` is not a complete, loadable runner checkpoint.

    The file is opened with weights-only loading and memory mapping, so the
    check reads the archive's index and pickled structure but not the
    tensors' bytes (cheap even for large files).

    Args:
        path: A checkpoint path, or None / ``''``.

    Returns:
        None if the file loads and holds a ``state_dict`` and ``meta``,
        otherwise a short reason.
    """
    if not path:
        return 'no path'
    if not osp.isfile(path):
        return 'file does not exist'
    if osp.getsize(path) == 0:
        return 'file is empty'
    try:
        try:
            ckpt = torch.load(path, map_location='cpu', weights_only=True,
                              mmap=True)
        except RuntimeError as e:
            if 'mmap' not in str(e):
                raise
            # legacy (non-zip) serialisation cannot be memory-mapped
            ckpt = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as e:  # truncated zip, refused object, ...
        return f'{type(e).__name__}: {str(e).splitlines()[0][:160]}'
    if not isinstance(ckpt, dict) or 'state_dict' not in ckpt \
            or 'meta' not in ckpt:
        return 'not a runner checkpoint (no state_dict / meta)'
    return None


def list_step_checkpoints(directory: str,
                          filename_tmpl: str) -> List[Tuple[int, str]]:
    """Checkpoints named like ``filename_tmpl`` (e.g. ``'iter_{}.pth'``).

    Returns:
        list[tuple[int, str]]: ``(step, path)`` pairs, newest step first.
    """
    pattern = re.compile('^' + re.escape(filename_tmpl).replace(
        re.escape('{}'), r'(\d+)') + '$')
    found = []
    for path in glob.glob(osp.join(directory, '*')):
        m = pattern.match(osp.basename(path))
        if m and osp.isfile(path):
            found.append((int(m.group(1)), path))
    return sorted(found, reverse=True)


def find_latest_complete_checkpoint(
        directory: str,
        filename_tmpls: Tuple[str, ...] = ('iter_{}.pth', 'epoch_{}.pth')
) -> Tuple[Optional[str], List[Tuple[str, str]]]:
    """The newest loadable step checkpoint in ``directory``.

    Args:
        directory: Where the checkpoints are.
        filename_tmpls: Name patterns of step checkpoints; the newest step
            over all patterns is tried first.

    Returns:
        tuple: the path (or None) and the ``(path, reason)`` of every newer
        file that was skipped because it is incomplete or unreadable.
    """
    candidates = []
    for tmpl in filename_tmpls:
        candidates += list_step_checkpoints(directory, tmpl)
    skipped = []
    for _, path in sorted(candidates, reverse=True):
        problem = checkpoint_problem(path)
        if problem is None:
            return path, skipped
        skipped.append((path, problem))
    return None, skipped


def remove_checkpoints(work_dir: str) -> None:
    """Delete a run's checkpoints (``*.pth`` and ``last_checkpoint``) under
    ``work_dir``, keeping its logs: what the benchmarks do once a run is
    evaluated."""
    for root, _, files in os.walk(work_dir):
        for f in files:
            if f.endswith('.pth') or f == 'last_checkpoint':
                os.remove(osp.join(root, f))


def atomic_write_json(path: str, obj) -> None:
    """Write ``obj`` as indented JSON atomically (a benchmark's run record:
    a killed process leaves the old file or none, never half of one)."""
    import json
    atomic_write_text(path, json.dumps(obj, indent=1))
