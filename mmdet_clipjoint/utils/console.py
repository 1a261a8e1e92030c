# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Console output is for people: a run's logs, config dumps, warnings and
library chatter go to a file, while progress bars and results stay on the
console."""
import contextlib
import logging
import os
import os.path as osp
import sys
import warnings
from typing import Iterator, TextIO

__all__ = ['console_to_file']


_DEVNULL = None
#: the real console while a block redirects the output
_CONSOLE = None


def _devnull() -> TextIO:
    global _DEVNULL
    if _DEVNULL is None:
        _DEVNULL = open(os.devnull, 'w')
    return _DEVNULL


@contextlib.contextmanager
def console_to_file(path: str, enabled: bool = True) -> Iterator[TextIO]:
    """Send everything printed in the block (``sys.stdout`` / ``sys.stderr``,
    Python warnings, and mmengine loggers created inside it) to ``path``.

    Yields the console stream (the ``sys.stdout`` from before the outermost
    such block) for what must still reach the user: progress bars
    (:class:`ProgressBarHook`) and results. With ``enabled=False`` nothing
    is redirected (``--verbose``).

    Args:
        path (str): The log file (appended to; its folder is created).
        enabled (bool): Redirect at all.
    """
    global _CONSOLE
    console = _CONSOLE or sys.stdout  # nested blocks: still the console
    if not enabled:
        yield console
        return
    outermost = _CONSOLE is None
    _CONSOLE = console
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'a', buffering=1) as f:
        old_out, old_err = sys.stdout, sys.stderr
        # loggers that already exist (a previous run's) write to the old
        # streams: point their console handlers at the file for the block
        moved = []
        for logger in [logging.getLogger()] + [
                logging.getLogger(n) for n in logging.root.manager.loggerDict]:
            for h in getattr(logger, 'handlers', []):
                if isinstance(h, logging.StreamHandler) and not isinstance(
                        h, logging.FileHandler) and h.stream in (old_out,
                                                                old_err):
                    moved.append((h, h.stream))
                    h.stream = f
        sys.stdout = sys.stderr = f
        try:
            with warnings.catch_warnings():
                warnings.simplefilter('default')
                yield console
        finally:
            if outermost:
                _CONSOLE = None
            sys.stdout, sys.stderr = old_out, old_err
            for h, stream in moved:
                h.stream = stream
            # handlers made inside the block (the run's logger) keep their
            # file handlers; their console copies must not outlive the file
            for logger in [logging.getLogger()] + [
                    logging.getLogger(n)
                    for n in logging.root.manager.loggerDict]:
                for h in getattr(logger, 'handlers', []):
                    if isinstance(h, logging.StreamHandler) and \
                            getattr(h, 'stream', None) is f:
                        h.stream = _devnull()
