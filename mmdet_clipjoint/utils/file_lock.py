# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""A lock file for work that several processes may start at once.

Two benchmark workers on the same output (or the same pre-training cache)
must not generate the same dataset or train the same pre-training twice at
the same time: the second waits for the first, then finds its result.
"""
import contextlib
import os
import time
from typing import Iterator, Optional

__all__ = ['exclusive_lock', 'LockTimeout']


class LockTimeout(TimeoutError):
    """The lock stayed held by another live process past the timeout."""


def _holder_alive(path: str) -> Optional[bool]:
    """True / False when the lock's process lives / is gone; None when the
    lock vanished meanwhile."""
    try:
        with open(path) as f:
            pid = int(f.read().strip() or 0)
    except FileNotFoundError:
        return None
    except ValueError:  # being written right now
        return True
    if pid <= 0:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


@contextlib.contextmanager
def exclusive_lock(path: str,
                   poll: float = 2.0,
                   timeout: Optional[float] = None) -> Iterator[None]:
    """Hold the lock file ``path`` (holding this process id) for the block.

    Waits while a live process holds it; a lock left by a dead process
    (killed worker) is taken over. Local processes only (the id is checked
    with ``os.kill(pid, 0)``).

    Args:
        path: Lock file, created next to what it protects.
        poll: Seconds between checks while waiting.
        timeout: Give up after this many seconds (:class:`LockTimeout`;
            0: do not wait); default: wait as long as the holder lives.
    """
    t0 = time.time()
    while True:
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            if _holder_alive(path) is False:
                with contextlib.suppress(FileNotFoundError):
                    os.remove(path)
                continue
            if timeout is not None and time.time() - t0 >= timeout:
                raise LockTimeout(f'{path} is held by another process')
            time.sleep(poll)
            continue
        with os.fdopen(fd, 'w') as f:
            f.write(str(os.getpid()))
        break
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)
